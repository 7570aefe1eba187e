// The map-first search page (/red/mapa/): the network's vector tiles (maps/tiles) drawn by the
// vendored Leaflet and Leaflet.VectorGrid on canvas; layer switcher, legend, click to inspect,
// search box, permalink (the page's query string) and a distance tool. Nothing is fetched but
// our own tiles and search answers, and the base layer's tiles when one is configured.
(function () {
  "use strict";
  var el = document.getElementById("mapfirst");
  if (!el || !window.L || !L.vectorGrid) return;
  var config = JSON.parse(document.getElementById(el.dataset.config).textContent);

  // VectorGrid 1.3 calls L.DomEvent.fakeStop on a click, which Leaflet 1.8 removed. This is
  // Leaflet 1.9's own canvas click handler instead: the feature under the pointer (if any)
  // and the map get the event, as with Leaflet's vector layers. Points get a position, which
  // Leaflet anchors their popup on.
  L.Canvas.Tile.include({
    _onClick: function (e) {
      var map = this._map;
      if (!map) return;
      var offset = this.getOffset();
      var point = map.mouseEventToLayerPoint(e).subtract(offset);
      var hit = null;
      for (var id in this._layers) {
        var layer = this._layers[id];
        if (layer.options.interactive && layer._containsPoint(point) && !map._draggableMoved(layer)) {
          hit = layer; // the last drawn wins: points over lines
        }
      }
      if (hit && hit._point && !hit._latlng) hit._latlng = map.layerPointToLatLng(hit._point.add(offset));
      map._fireDOMEvent(e, e.type, hit ? [hit] : undefined);
    }
  });

  var layers = {};
  config.layers.forEach(function (layer) { layers[layer.name] = layer; });
  var KIND_OF = {
    substations: "subestacion", feeders: "alimentador", transformers: "transformador",
    poles: "poste", spans: "vano", equipment: "equipo"
  };
  var LAYER_OF = {};
  Object.keys(KIND_OF).forEach(function (name) { LAYER_OF[KIND_OF[name]] = name; });
  var hidden = {};

  var map = L.map(el, { minZoom: 3, maxZoom: 19, zoomSnap: 1 });
  if (config.base) {
    var base = L.tileLayer(config.base.url, { attribution: config.base.attribution, maxZoom: 19 });
    base.addTo(map);
  }

  function shows(name, zoom) {
    var layer = layers[name];
    return !hidden[name] && zoom >= layer.minZoom && zoom <= layer.maxZoom;
  }

  // --- styles -------------------------------------------------------------------------------
  function style(name, make) {
    return function (props, zoom) {
      props._layer = name; // the click handler learns the feature's layer from its properties
      return hidden[name] ? [] : make(props, zoom);
    };
  }
  function dot(color, radius, stroke) {
    return {
      radius: radius, fill: true, fillColor: color, fillOpacity: 1,
      stroke: !!stroke, color: stroke || color, weight: stroke ? 1.2 : 0
    };
  }
  var styles = {
    feeders: style("feeders", function (props, zoom) {
      var palette = config.palette;
      return { color: palette[props.id % palette.length], weight: zoom >= 10 ? 2.5 : 1.5, opacity: 0.9 };
    }),
    spans: style("spans", function () {
      return { color: layers.spans.color, weight: layers.spans.weight };
    }),
    poles: style("poles", function () { return dot(layers.poles.color, layers.poles.radius); }),
    transformers: style("transformers", function () {
      return dot(layers.transformers.color, layers.transformers.radius, "#ffffff");
    }),
    equipment: style("equipment", function (props) {
      var known = config.equipment[props.kind];
      return dot(known ? known.color : layers.equipment.color, layers.equipment.radius, "#ffffff");
    }),
    substations: style("substations", function (props, zoom) {
      return dot(layers.substations.color, zoom >= 10 ? 7 : 4.5, "#ffffff");
    })
  };

  var grid = L.vectorGrid.protobuf(config.tiles, {
    rendererFactory: L.canvas.tile,
    interactive: true,
    tolerance: 5,
    vectorTileLayerStyles: styles,
    fetchOptions: { credentials: "same-origin" },
    updateWhenZooming: false
  }).addTo(map);

  // --- popups -------------------------------------------------------------------------------
  var number = function (value, decimals) {
    if (value === undefined || value === null || value === "") return "—";
    return new Intl.NumberFormat("es-CL", { maximumFractionDigits: decimals || 0 }).format(value);
  };
  function detail(pattern, id) { return pattern.replace("{id}", id); }
  function assetUrl(props, kind, code) {
    return detail(config.urls.feeders, props.feeder) + "?tipo=" + kind + "&id=" +
      encodeURIComponent(code) + "#buscar-activo";
  }

  // title, [label, value]..., link
  function describe(props) {
    var feeder = props.feeder_code ? ["Alimentador", props.feeder_code] : null;
    switch (props._layer) {
      case "substations":
        return ["Subestación " + props.code, [["Nombre", props.name], ["Tensión AT", number(props.kv, 1) + " kV"]],
          detail(config.urls.substations, props.id)];
      case "feeders":
        return ["Alimentador " + props.code, [["Nombre", props.name],
          ["Tipo", config.feederKinds[props.kind] || props.kind],
          ["Tensión nominal", number(props.kv, 1) + " kV"], ["Subestación", props.substation]],
          detail(config.urls.feeders, props.id)];
      case "spans":
        return ["Vano " + props.code, [feeder, ["Longitud", number(props.length_m, 1) + " m"],
          ["Conductor", props.conductor], ["Fases", props.phases], ["Capacidad", number(props.capacity_a) + " A"]],
          assetUrl(props, "vano", props.code)];
      case "poles":
        return ["Poste " + props.plate, [feeder, ["Material", props.material || "—"],
          ["Tensión MT", number(props.kv, 1) + " kV"], ["Altura", props.height_m ? number(props.height_m, 1) + " m" : "—"]],
          assetUrl(props, "poste", props.plate)];
      case "transformers":
        return ["Transformador " + props.code, [["Placa", props.plate], ["Nombre", props.name],
          ["Capacidad", number(props.kva, 1) + " kVA"], ["Fases", props.phases], feeder],
          detail(config.urls.transformers, props.id)];
      case "equipment":
        var known = config.equipment[props.kind] || { label: props.kind, category: "" };
        return [known.label + " " + props.code, [["Categoría", known.category], feeder],
          assetUrl(props, "equipo", props.code)];
    }
    return ["Elemento", [], ""];
  }

  function popupBox(title, fields, url) {
    var box = document.createElement("div");
    box.className = "mapfirst-popup";
    var h = document.createElement("h3");
    h.textContent = title;
    box.appendChild(h);
    var list = document.createElement("dl");
    (fields || []).forEach(function (field) {
      if (!field) return;
      var dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = field[0];
      dd.textContent = field[1] === undefined || field[1] === null ? "—" : field[1];
      list.appendChild(dt);
      list.appendChild(dd);
    });
    if (list.childNodes.length) box.appendChild(list);
    if (url) {
      var link = document.createElement("a");
      link.href = url;
      link.textContent = "Ver ficha";
      box.appendChild(link);
    }
    return box;
  }

  // --- selection and permalink --------------------------------------------------------------
  var selection = null, halo = null, opening = false;
  var status = document.getElementById("mapfirst-status");

  function select(kind, id, latlng, content) {
    opening = true;
    map.closePopup();
    opening = false;
    selection = { kind: kind, id: id };
    if (halo) map.removeLayer(halo);
    halo = L.circleMarker(latlng, {
      radius: 13, color: "#ffd400", weight: 4, fill: false, interactive: false
    }).addTo(map);
    L.popup({ maxWidth: 320, autoPanPadding: [20, 20] }).setLatLng(latlng).setContent(content).openOn(map);
    permalink();
  }
  map.on("popupclose", function () {
    if (opening) return;
    selection = null;
    if (halo) { map.removeLayer(halo); halo = null; }
    permalink();
  });

  function permalink() {
    var center = map.getCenter();
    var params = new URLSearchParams();
    params.set("lat", center.lat.toFixed(6));
    params.set("lon", center.lng.toFixed(6));
    params.set("z", String(map.getZoom()));
    if (selection) params.set("sel", selection.kind + ":" + selection.id);
    var query = params.toString();
    if (window.history && history.replaceState) {
      history.replaceState(null, "", window.location.pathname + "?" + query);
    }
    document.querySelectorAll("a[href*='formato=pdf']").forEach(function (a) {
      a.href = window.location.pathname + "?" + query + "&formato=pdf";
    });
  }

  // --- click to inspect ---------------------------------------------------------------------
  var measure = null;
  grid.on("click", function (e) {
    L.DomEvent.stopPropagation(e); // the map's own click (the distance tool) is not for this
    if (measure && measure.active) { measure.add(e.latlng); return; }
    var props = e.layer.properties || {};
    var d = describe(props);
    select(KIND_OF[props._layer], props.id, e.latlng, popupBox(d[0], d[1], d[2]));
  });

  // --- search -------------------------------------------------------------------------------
  function show(result, keepView) {
    var latlng = L.latLng(result.lat, result.lon);
    if (!keepView) {
      var layer = layers[result.layer];
      if (result.zoom) {
        map.setView(latlng, Math.max(result.zoom, layer.minZoom), { animate: false });
      } else {
        var b = result.bbox;
        map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { maxZoom: 16, padding: [24, 24], animate: false });
      }
    }
    select(result.kind, result.id, latlng, popupBox(result.label, [], result.url));
  }

  var form = document.getElementById("mapfirst-search");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var term = form.elements.q.value.trim();
      if (!term) return;
      status.className = "";
      status.textContent = "Buscando…";
      fetch(form.dataset.search + "?q=" + encodeURIComponent(term), {
        credentials: "same-origin", headers: { Accept: "application/json" }
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (answer) {
        if (!answer.ok) {
          status.className = "not-found";
          status.textContent = answer.body.error || "No se encontró.";
          return;
        }
        status.textContent = answer.body.label;
        show(answer.body);
      }).catch(function () {
        status.className = "not-found";
        status.textContent = "No se pudo buscar: revise la conexión.";
      });
    });
  }

  // --- layer switcher and legend ------------------------------------------------------------
  var switcher = L.control({ position: "topright" });
  switcher.onAdd = function () {
    var box = L.DomUtil.create("div", "mapfirst-control mapfirst-layers");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Capas");
    var title = L.DomUtil.create("strong", "", box);
    title.textContent = "Capas";
    config.layers.slice().reverse().forEach(function (layer) {
      var label = L.DomUtil.create("label", "", box);
      label.dataset.layer = layer.name;
      var input = L.DomUtil.create("input", "", label);
      input.type = "checkbox";
      input.checked = true;
      input.name = layer.name;
      label.appendChild(document.createTextNode(layer.label));
      label.title = "Visible desde el zoom " + layer.minZoom +
        (layer.maxZoom < 22 ? " hasta el " + layer.maxZoom : "");
      input.addEventListener("change", function () {
        hidden[layer.name] = !input.checked;
        grid.redraw();
        refresh();
      });
    });
    if (base) {
      var label = L.DomUtil.create("label", "", box);
      var input = L.DomUtil.create("input", "", label);
      input.type = "checkbox";
      input.checked = true;
      label.appendChild(document.createTextNode("Mapa base"));
      input.addEventListener("change", function () {
        if (input.checked) base.addTo(map); else map.removeLayer(base);
      });
    }
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  switcher.addTo(map);

  function refresh() {
    var zoom = map.getZoom();
    document.querySelectorAll("[data-layer]").forEach(function (item) {
      item.classList.toggle("off", !shows(item.dataset.layer, zoom));
    });
  }
  map.on("zoomend", refresh);

  // --- distance tool ------------------------------------------------------------------------
  var Measure = L.Control.extend({
    options: { position: "topleft" },
    onAdd: function () {
      var box = L.DomUtil.create("div", "mapfirst-control mapfirst-measure");
      var button = L.DomUtil.create("button", "", box);
      button.type = "button";
      button.textContent = "Medir distancia";
      button.setAttribute("aria-pressed", "false");
      var out = L.DomUtil.create("div", "mapfirst-distance", box);
      out.setAttribute("aria-live", "polite");
      var self = this;
      this.line = L.polyline([], { color: "#d81b60", weight: 3, dashArray: "6 4", interactive: false });
      this.points = [];
      this.active = false;
      button.addEventListener("click", function () {
        self.active = !self.active;
        button.setAttribute("aria-pressed", String(self.active));
        button.textContent = self.active ? "Terminar medición" : "Medir distancia";
        box.classList.toggle("active", self.active);
        el.style.cursor = self.active ? "crosshair" : "";
        if (self.active) {
          self.points = [];
          self.line.setLatLngs([]).addTo(map);
          map.doubleClickZoom.disable();
          out.textContent = "Haga clic en el mapa para marcar puntos.";
        } else {
          map.removeLayer(self.line);
          map.doubleClickZoom.enable();
          out.textContent = "";
        }
      });
      this.add = function (latlng) {
        self.points.push(latlng);
        self.line.setLatLngs(self.points);
        var metres = 0;
        for (var i = 1; i < self.points.length; i++) metres += map.distance(self.points[i - 1], self.points[i]);
        out.textContent = "Distancia: " + (metres >= 1000 ? number(metres / 1000, 2) + " km" : number(metres, 0) + " m");
      };
      L.DomEvent.disableClickPropagation(box);
      return box;
    }
  });
  measure = new Measure().addTo(map);
  map.on("click", function (e) { if (measure.active) measure.add(e.latlng); });
  L.control.scale({ imperial: false }).addTo(map);

  // --- first view ---------------------------------------------------------------------------
  if (config.view) {
    map.setView([config.view.lat, config.view.lon], config.view.z, { animate: false });
  } else if (!config.selected) {
    var x = config.extent;
    map.fitBounds([[x[1], x[0]], [x[3], x[2]]], { padding: [16, 16], animate: false });
  }
  if (config.selected) show(config.selected, !!config.view);
  map.on("moveend", permalink);
  refresh();
  permalink();

  window.mapfirst = { map: map, grid: grid };
})();
