// The detail pages' maps: each div.map[data-map] names a JSON block written by
// maps/drawing/leaflet.py (one GeoJSON FeatureCollection per layer). Needs only the vendored
// Leaflet; nothing is fetched but the optional base layer's tiles.
(function () {
  "use strict";
  if (window.portalMaps) return; // the script may be included once per map fragment

  var maps = [];

  function symbolIcon(layer) {
    var s = layer.size + 2; // the server draws the symbol with a 1 px margin
    return L.divIcon({ className: "map-symbol", html: layer.icon, iconSize: [s, s] });
  }

  function popupContent(props) {
    var box = document.createElement("div");
    var text = document.createElement("div");
    text.textContent = props.label;
    box.appendChild(text);
    if (props.url) {
      var link = document.createElement("a");
      link.href = props.url;
      link.textContent = "Ver detalle";
      box.appendChild(link);
    }
    return box;
  }

  function geoJsonLayer(layer, renderer) {
    var small = layer.size <= 5;
    // L.geoJSON applies `style` to circle markers too, so points get their own style here.
    var pointStyle = {
      renderer: renderer, radius: layer.size / 2, color: small ? layer.color : "#222222",
      weight: small ? 0 : 0.8, fill: true, fillColor: layer.color, fillOpacity: 1
    };
    var lineStyle = {
      renderer: renderer, color: layer.color, weight: layer.weight, opacity: layer.opacity,
      dashArray: layer.dash || null, fill: false
    };
    return L.geoJSON(layer.data, {
      style: function () { return layer.kind === "point" ? pointStyle : lineStyle; },
      pointToLayer: function (feature, latlng) {
        if (layer.shape === "circle") return L.circleMarker(latlng, pointStyle);
        return L.marker(latlng, { icon: symbolIcon(layer), keyboard: false });
      },
      onEachFeature: function (feature, item) {
        var props = feature.properties || {};
        if (!props.label) return;
        // Leaflet writes string content as HTML: labels come from the data, so escape them.
        item.bindTooltip(escapeHtml(props.label), { sticky: layer.kind !== "point" });
        item.bindPopup(function () { return popupContent(props); });
      }
    });
  }

  function init(el) {
    if (el.dataset.mapReady) return;
    var source = document.getElementById(el.dataset.map);
    if (!source || !window.L) return;
    el.dataset.mapReady = "1";
    var config = JSON.parse(source.textContent);
    var map = L.map(el, { minZoom: 3, maxZoom: 19, preferCanvas: true, zoomSnap: 0.5 });
    var renderer = L.canvas({ padding: 0.2, tolerance: 4 });
    if (config.base) {
      L.tileLayer(config.base.url, { attribution: config.base.attribution, maxZoom: 19 }).addTo(map);
    }
    var overlays = {}, bounds = L.latLngBounds([]), context = L.latLngBounds([]);
    var dense = [];
    config.layers.forEach(function (layer) {
      var item = geoJsonLayer(layer, renderer);
      if (layer.visible) item.addTo(map);
      if (layer.minZoom) dense.push({ item: item, minZoom: layer.minZoom, wanted: layer.visible });
      overlays[layer.symbol + " " + escapeHtml(layer.name)] = item;
      if (!item.getLayers().length) return;
      (layer.fit ? bounds : context).extend(item.getBounds());
    });
    if (!bounds.isValid()) bounds = context;
    L.control.layers(null, overlays, { collapsed: true }).addTo(map);
    showDenseLayers(map, dense);
    L.control.scale({ imperial: false }).addTo(map);
    // Printing changes the map's size: frame the layers again, unless the user has moved
    // the map, in which case their view is kept (IMPRIMIR prints what is shown).
    var userView = false, framing = false;
    map.on("movestart zoomstart", function () { if (!framing) userView = true; });
    var frame = function () {
      framing = true;
      map.invalidateSize({ animate: false });
      if (!userView) {
        if (bounds.isValid()) map.fitBounds(bounds, { padding: [16, 16], maxZoom: 18, animate: false });
        else map.setView([-33.45, -70.65], 10, { animate: false });
      }
      framing = false;
    };
    frame();
    maps.push(frame);
  }

  // Dense layers (a feeder's poles) only from their zoom on; the layer control still decides.
  function showDenseLayers(map, dense) {
    var syncing = false;
    map.on("overlayadd overlayremove", function (e) {
      if (syncing) return;
      dense.forEach(function (d) { if (d.item === e.layer) d.wanted = e.type === "overlayadd"; });
    });
    var sync = function () {
      syncing = true;
      dense.forEach(function (d) {
        var show = d.wanted && map.getZoom() >= d.minZoom;
        if (show && !map.hasLayer(d.item)) map.addLayer(d.item);
        if (!show && map.hasLayer(d.item) && map.getZoom() < d.minZoom) map.removeLayer(d.item);
      });
      syncing = false;
    };
    map.on("zoomend", sync);
    map.whenReady(sync);
  }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function initAll() {
    document.querySelectorAll(".map[data-map]").forEach(init);
  }

  // The print stylesheet changes the maps' height: reframe before and after printing.
  function reframe() { maps.forEach(function (frame) { frame(); }); }
  window.addEventListener("beforeprint", reframe);
  window.addEventListener("afterprint", reframe);
  if (window.matchMedia) {
    var print = window.matchMedia("print");
    if (print.addEventListener) print.addEventListener("change", reframe);
  }

  window.portalMaps = { init: initAll };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initAll);
  } else {
    initAll();
  }
})();
