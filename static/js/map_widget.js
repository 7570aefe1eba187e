// The admin's map widget (templates/gis/map_widget.html): GeoDjango's MapWidget built from the
// options in the JSON block before this script, so the page needs no inline script.
(function () {
  "use strict";
  document.querySelectorAll("script[data-map-widget]:not([data-started])").forEach(function (el) {
    el.dataset.started = "1";
    var options = JSON.parse(el.textContent);
    if (options.base_layer_url) {
      options.base_layer = new ol.layer.Tile({
        source: new ol.source.XYZ({
          url: options.base_layer_url,
          attributions: options.base_layer_attribution
        })
      });
    } else {
      options.base_layer = new ol.layer.Graticule({
        strokeStyle: new ol.style.Stroke({ color: "rgba(60, 60, 60, 0.35)", width: 1, lineDash: [2, 4] }),
        showLabels: true,
        wrapX: false
      });
    }
    var network = options.network;
    delete options.base_layer_url;
    delete options.base_layer_attribution;
    delete options.network;
    // GeoDjango's inline script kept the widget in a global named after the field.
    var widget = window[el.dataset.module] = new MapWidget(options);
    if (network) {
      // The stored network around the asset (network.widgets), above the base layer and under
      // the feature being edited (GeoDjango's overlay is drawn on top of every layer).
      widget.map.getLayers().insertAt(1, networkLayer(network));
    }
  });

  function networkLayer(network) {
    var cache = {};
    function styleOf(code) {
      if (cache[code] !== undefined) return cache[code];
      var layer = network.layers[code];
      var style = null;
      if (layer && layer.kind === "line") {
        style = new ol.style.Style({
          stroke: new ol.style.Stroke({ color: layer.color, width: layer.weight })
        });
      } else if (layer) {
        style = new ol.style.Style({
          image: new ol.style.Circle({
            radius: layer.radius,
            fill: new ol.style.Fill({ color: layer.color }),
            stroke: new ol.style.Stroke({ color: "#ffffff", width: 1 })
          })
        });
      }
      cache[code] = style;
      return style;
    }
    return new ol.layer.VectorTile({
      className: "network-overlay",
      opacity: 0.85,
      source: new ol.source.VectorTile({
        format: new ol.format.MVT(),
        url: network.tiles,
        tileGrid: ol.tilegrid.createXYZ({ maxZoom: network.maxZoom, tileSize: 256 })
      }),
      style: function (feature) { return styleOf(feature.get("layer")); }
    });
  }
})();
