// The map-first search page (/red/mapa/): the network's vector tiles (maps/tiles) drawn by the
// vendored Leaflet and Leaflet.VectorGrid on canvas; layer switcher, legend, click to inspect,
// search box, permalink (the page's query string) and a distance tool. Over and under the
// network, two more grids: región and comuna boundaries under it (their names over it), and
// the poles coloured by available capacity over it. The search box also takes coordinates and
// lists the poles nearest them; a corner shows the coordinates under the pointer. Nothing is
// fetched but our own tiles and search answers, and the base layer's tiles when configured.
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

  // Names (the `places` layer) are points whose style carries a `label`: drawn as text with a
  // white halo instead of a circle. VectorGrid has no text symbolizer.
  var drawCircle = L.Canvas.Tile.prototype._updateCircle;
  L.Canvas.Tile.include({
    _updateCircle: function (layer) {
      var o = layer.options;
      if (!o.label) return drawCircle.call(this, layer);
      if (!this._drawing || !layer._point) return;
      var ctx = this._ctx;
      ctx.save();
      ctx.globalAlpha = 1;
      ctx.font = o.font;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.lineJoin = "round";
      ctx.lineWidth = 3;
      ctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
      ctx.strokeText(o.label, layer._point.x, layer._point.y);
      ctx.fillStyle = o.color;
      ctx.fillText(o.label, layer._point.x, layer._point.y);
      ctx.restore();
    }
  });

  var layers = {};
  config.layers.forEach(function (layer) { layers[layer.name] = layer; });
  (config.overlays || []).forEach(function (layer) { layers[layer.name] = layer; });
  var KIND_OF = {
    substations: "subestacion", feeders: "alimentador", transformers: "transformador",
    poles: "poste", spans: "vano", equipment: "equipo", capacity: "poste"
  };
  var POINT = "punto"; // a coordinate typed in the search box
  var hidden = {};
  var capacity = config.capacity || { classes: [] };
  var classColor = {};
  capacity.classes.forEach(function (c) { classColor[c.code] = c.color; });

  var map = L.map(el, { minZoom: 3, maxZoom: 19, zoomSnap: 1 });
  if (config.base) {
    var base = L.tileLayer(config.base.url, { attribution: config.base.attribution, maxZoom: 19 });
    base.addTo(map);
  }

  function off(name) {
    var layer = layers[name];
    return !!(hidden[name] || (layer && layer.partOf && hidden[layer.partOf]));
  }
  function shows(name, zoom) {
    var layer = layers[name];
    return !off(name) && zoom >= layer.minZoom && zoom <= layer.maxZoom;
  }

  // --- styles -------------------------------------------------------------------------------
  function style(name, make) {
    return function (props, zoom) {
      props._layer = name; // the click handler learns the feature's layer from its properties
      return off(name) ? [] : make(props, zoom);
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
  var boundaries = config.boundaries || {};
  var overlayStyles = {
    boundaries: style("boundaries", function (props) {
      if (props.level === "comuna") {
        return { color: boundaries.comunaColor, weight: 1, opacity: 0.9, dashArray: "5 4", interactive: false };
      }
      return { color: layers.boundaries.color, weight: layers.boundaries.weight, opacity: 0.85, interactive: false };
    }),
    places: style("places", function (props) {
      var region = props.level === "region";
      return {
        label: props.name, radius: 1, fill: false, stroke: false, interactive: false,
        color: layers.places.color,
        font: region ? "600 13px system-ui, sans-serif" : "12px system-ui, sans-serif"
      };
    }),
    capacity: style("capacity", function (props, zoom) {
      var radius = zoom >= 17 ? 5 : zoom >= 16 ? 4.5 : zoom >= 15 ? 3.5 : 3;
      return {
        radius: radius, fill: true, fillColor: classColor[props["class"]] || classColor.sin_datos,
        fillOpacity: props.stale ? 0.45 : 0.95, stroke: true, color: "#263238", weight: 0.8,
        opacity: 0.9
      };
    })
  };

  function vectorGrid(url, options) {
    return L.vectorGrid.protobuf(url, L.extend({
      rendererFactory: L.canvas.tile,
      tolerance: 5,
      fetchOptions: { credentials: "same-origin" },
      updateWhenZooming: false
    }, options));
  }
  // Under the network: the boundaries. Over it, and transparent to the pointer (the network's
  // canvas under it takes the clicks; a click looks up the capacity layer itself): capacity
  // dots and place names.
  var underlay = config.underlay ? vectorGrid(config.underlay, {
    interactive: false, zIndex: 2, vectorTileLayerStyles: overlayStyles, className: "mapfirst-underlay"
  }) : null;
  var grid = vectorGrid(config.tiles, { interactive: true, zIndex: 3, vectorTileLayerStyles: styles }).addTo(map);
  var overlay = config.overlay ? vectorGrid(config.overlay, {
    interactive: true, zIndex: 4, vectorTileLayerStyles: overlayStyles, className: "mapfirst-overlay",
    // With an id, VectorGrid keeps each tile's renderer (_vectorTiles): a click looks in it.
    getFeatureId: function (feature) { return feature.properties.id; }
  }) : null;
  function syncOverlays() {
    // A grid none of whose layers is on is taken off the map: its tiles are not fetched.
    if (underlay) {
      if (hidden.boundaries) map.removeLayer(underlay); else if (!map.hasLayer(underlay)) underlay.addTo(map);
    }
    if (overlay) {
      var any = !hidden.capacity || !hidden.boundaries;
      if (!any) map.removeLayer(overlay);
      else if (!map.hasLayer(overlay)) overlay.addTo(map);
      else overlay.redraw();
    }
  }
  syncOverlays();

  // The feature of a grid under a map point (the last drawn wins, as in the click handler).
  function featureAt(source, latlng, name) {
    if (!source || !map.hasLayer(source)) return null;
    var zoom = map.getZoom();
    var coords = map.project(latlng, zoom).unscaleBy(source.getTileSize()).floor();
    coords.z = zoom;
    var renderer = source._vectorTiles && source._vectorTiles[source._tileCoordsToKey(coords)];
    if (!renderer) return null;
    var point = map.latLngToLayerPoint(latlng).subtract(renderer.getOffset());
    var hit = null;
    for (var id in renderer._layers) {
      var layer = renderer._layers[id];
      var props = layer.properties || {};
      if (layer.options.interactive && props._layer === name && layer._containsPoint(point)) hit = layer;
    }
    return hit;
  }
  function capacityAt(latlng) {
    if (!shows("capacity", map.getZoom())) return null;
    return featureAt(overlay, latlng, "capacity");
  }

  // --- popups -------------------------------------------------------------------------------
  var number = function (value, decimals) {
    if (value === undefined || value === null || value === "") return "—";
    return new Intl.NumberFormat("es-CL", { maximumFractionDigits: decimals || 0 }).format(value);
  };
  var fixed = function (value, decimals) {
    return new Intl.NumberFormat("es-CL", {
      minimumFractionDigits: decimals, maximumFractionDigits: decimals
    }).format(value);
  };
  function detail(pattern, id) { return pattern.replace("{id}", id); }
  function assetUrl(props, kind, code) {
    return detail(config.urls.feeders, props.feeder) + "?tipo=" + kind + "&id=" +
      encodeURIComponent(code) + "#buscar-activo";
  }

  // Capacity figures with the capacity pages' decimals (portal_tags.num): 2,50 MW, 1,80 kA.
  function mw(value) { return value === undefined || value === null ? "—" : fixed(value, 2) + " MW"; }
  function fix(value, decimals) { return value === undefined || value === null ? "—" : fixed(value, decimals); }
  function runLabel(props) {
    return props.run ? "Cálculo " + props.run + " del " + props.run_date : "—";
  }

  // title, [label, value]..., link
  function describe(props) {
    var feeder = props.feeder_code ? ["Alimentador", props.feeder_code] : null;
    var asOf = props.as_of ? ["Fecha de actualización", props.as_of] : null;
    var d = describeAsset(props, feeder);
    d[1].push(asOf);
    return d;
  }

  function describeCapacity(props, feeder) {
    var title = "Poste " + props.plate + " · capacidad disponible";
    if (props["class"] === "sin_datos" || props.remaining_mw === undefined) {
      var why = (capacity.noData || {})[props.no_data] || "Sin datos suficientes";
      return [title, [feeder, ["Capacidad", why + " para calcular la capacidad de este alimentador"]],
        assetUrl(props, "poste", props.plate)];
    }
    var kind = (capacity.limits || {})[props.limit_kind] || props.limit_kind;
    var unit = (capacity.units || {})[props.criterion] || "";
    var fields = [
      ["MW disponible", mw(props.remaining_mw)],
      ["Capacidad indicativa", mw(props.hosting_mw)],
      ["Generación conectada y en cola aguas abajo", mw(props.downstream_mw)],
      ["Criterio limitante", (capacity.criteria || {})[props.criterion] || props.criterion],
      ["Elemento limitante", kind + " " + props.limit_code],
      ["Valor en el límite", fix(props.limit_value, 2) + " " + unit],
      ["Scc", fix(props.scc_mva, 1) + " MVA"],
      ["Ik''3 máx. / mín.", fix(props.ik3_max_ka, 2) + " / " + fix(props.ik3_min_ka, 2) + " kA"],
      ["Ik''1 mín.", fix(props.ik1_min_ka, 2) + " kA"],
      feeder,
      ["Cálculo", runLabel(props)]
    ];
    if (props.stale) fields.push(["Estado", "desactualizado: la topología cambió después del cálculo"]);
    return [title, fields, assetUrl(props, "poste", props.plate),
      "Valor indicativo: no reemplaza el estudio de conexión de la distribuidora."];
  }

  function describeAsset(props, feeder) {
    switch (props._layer) {
      case "capacity":
        return describeCapacity(props, feeder);
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

  function popupBox(title, fields, url, note) {
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
      if (field[0] === "Estado") dd.className = "stale";
      list.appendChild(dt);
      list.appendChild(dd);
    });
    if (list.childNodes.length) box.appendChild(list);
    if (note) {
      var p = document.createElement("p");
      p.className = "note";
      p.textContent = note;
      box.appendChild(p);
    }
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

  function select(kind, id, latlng, content, query) {
    opening = true;
    map.closePopup();
    opening = false;
    selection = { kind: kind, id: id, query: query };
    if (halo) map.removeLayer(halo);
    halo = L.circleMarker(latlng, {
      radius: 13, color: "#ffd400", weight: 4, fill: false, interactive: false
    }).addTo(map);
    // On a phone the popup fits the map: narrower, and scrolled when taller than the map.
    L.popup({
      maxWidth: Math.min(320, el.clientWidth - 50), autoPanPadding: [10, 10],
      maxHeight: el.clientWidth < 560 ? Math.max(200, el.clientHeight - 90) : null
    }).setLatLng(latlng).setContent(content).openOn(map);
    permalink();
  }
  map.on("popupopen", function () { el.classList.add("popup-open"); });
  map.on("popupclose", function () {
    el.classList.remove("popup-open");
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
    if (selection && selection.kind === POINT) params.set("q", selection.query);
    else if (selection) params.set("sel", selection.kind + ":" + selection.id);
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
  function inspect(props, latlng) {
    var d = describe(props);
    select(KIND_OF[props._layer], props.id, latlng, popupBox(d[0], d[1], d[2], d[3]));
  }
  grid.on("click", function (e) {
    L.DomEvent.stopPropagation(e); // the map's own click (the distance tool) is not for this
    if (measure && measure.active) { measure.add(e.latlng); return; }
    // A capacity dot is drawn over the network: it wins, as the last drawn does.
    var dot = capacityAt(e.latlng);
    if (dot) { inspect(dot.properties, e.latlng); return; }
    inspect(e.layer.properties || {}, e.latlng);
  });

  // --- search -------------------------------------------------------------------------------
  var results = document.getElementById("mapfirst-results");
  var nearby = null;
  function show(result, keepView) {
    var latlng = L.latLng(result.lat, result.lon);
    if (nearby) { map.removeLayer(nearby); nearby = null; }
    if (results && result.kind !== POINT) { results.hidden = true; }
    if (!keepView) {
      var layer = layers[result.layer];
      if (result.zoom) {
        map.setView(latlng, Math.max(result.zoom, layer.minZoom), { animate: false });
      } else {
        var b = result.bbox;
        map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { maxZoom: 16, padding: [24, 24], animate: false });
      }
    }
    if (result.kind === POINT) { showPoint(result, latlng); return; }
    var fields = result.as_of ? [["Fecha de actualización", result.as_of]] : [];
    select(result.kind, result.id, latlng, popupBox(result.label, fields, result.url));
  }

  function utmText(utm) {
    return "UTM " + utm.zone + " " + number(utm.easting, 0) + " E " + number(utm.northing, 0) + " N";
  }
  function metres(value) {
    return value >= 1000 ? number(value / 1000, 2) + " km" : number(value, 0) + " m";
  }
  function capacityText(pole) {
    var c = pole.capacity;
    if (!c) return pole.no_data || "Sin datos suficientes";
    return mw(c.remaining_mw) + " disponibles · capacidad indicativa " + mw(c.hosting_mw) +
      " · " + c.criterion_label + (c.stale ? " · desactualizado" : "");
  }

  // A coordinate: a marker, its popup, rings on its nearest poles and their list.
  function showPoint(result, latlng) {
    var p = result.point;
    nearby = L.layerGroup().addTo(map);
    result.nearest.forEach(function (pole) {
      L.circleMarker([pole.lat, pole.lon], {
        radius: 8, color: "#0d47a1", weight: 2, fill: false, interactive: false
      }).addTo(nearby);
    });
    var fields = [
      ["Latitud, longitud", fixed(p.lat, 5) + "; " + fixed(p.lon, 5)],
      ["UTM (WGS84)", utmText(p.utm)],
      ["Postes cercanos", result.message]
    ];
    select(POINT, null, latlng, popupBox(result.label, fields, ""), searched || result.label);
    renderNearest(result);
  }

  function renderNearest(result) {
    if (!results) return;
    results.hidden = false;
    var title = results.querySelector("h2");
    var intro = results.querySelector("p");
    var list = results.querySelector("ol");
    title.textContent = "Postes más cercanos a " + result.label.replace(/^Punto /, "");
    intro.textContent = utmText(result.point.utm) + ". " + result.message +
      " Capacidad indicativa: no reemplaza el estudio de conexión.";
    list.textContent = "";
    result.nearest.forEach(function (pole) {
      var li = document.createElement("li");
      var go = document.createElement("button");
      go.type = "button";
      go.className = "link";
      go.textContent = "Poste " + pole.plate;
      go.addEventListener("click", function () {
        map.setView([pole.lat, pole.lon], Math.max(map.getZoom(), 17), { animate: false });
      });
      li.appendChild(go);
      var what = document.createElement("span");
      what.className = "near-data";
      what.textContent = " · " + metres(pole.distance_m) + " · alimentador " + pole.feeder.code + " · ";
      li.appendChild(what);
      var cap = document.createElement("span");
      cap.className = "cap-class cap-" + (pole.capacity ? pole.capacity["class"] : "sin-datos");
      cap.textContent = capacityText(pole);
      li.appendChild(cap);
      var link = document.createElement("a");
      link.href = pole.url;
      link.textContent = "Ver ficha";
      li.appendChild(document.createTextNode(" "));
      li.appendChild(link);
      list.appendChild(li);
    });
  }

  var searched = config.query || "";
  var form = document.getElementById("mapfirst-search");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var term = form.elements.q.value.trim();
      if (!term) return;
      searched = term;
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
          if (results) results.hidden = true; // the list was of the previous point
          return;
        }
        status.textContent = answer.body.kind === POINT ?
          answer.body.label + ": " + answer.body.message : answer.body.label;
        show(answer.body);
      }).catch(function () {
        status.className = "not-found";
        status.textContent = "No se pudo buscar: revise la conexión.";
      });
    });
  }

  // --- layer switcher and legend ------------------------------------------------------------
  // On a narrow map (a phone) the switchers start folded: their titles unfold them.
  var narrow = el.clientWidth < 560;
  function heading(box, text) {
    var title = L.DomUtil.create("button", "mapfirst-toggle", box);
    title.type = "button";
    title.textContent = text;
    title.setAttribute("aria-expanded", String(!narrow));
    if (narrow) box.classList.add("folded");
    title.addEventListener("click", function () {
      var folded = box.classList.toggle("folded");
      title.setAttribute("aria-expanded", String(!folded));
    });
  }
  var switcher = L.control({ position: "topright" });
  switcher.onAdd = function () {
    var box = L.DomUtil.create("div", "mapfirst-control mapfirst-layers");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Capas");
    heading(box, "Capas");
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

  // The map page's own layers: not the network, in a box of their own.
  var extra = L.control({ position: "topright" });
  extra.onAdd = function () {
    var box = L.DomUtil.create("div", "mapfirst-control mapfirst-overlays");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Capas adicionales");
    heading(box, "Capas adicionales");
    (config.overlays || []).forEach(function (layer) {
      if (layer.partOf) return;
      var label = L.DomUtil.create("label", "", box);
      label.dataset.layer = layer.name;
      var input = L.DomUtil.create("input", "", label);
      input.type = "checkbox";
      input.checked = true;
      input.name = layer.name;
      label.appendChild(document.createTextNode(layer.label));
      label.title = "Visible desde el zoom " + layer.minZoom;
      input.addEventListener("change", function () {
        hidden[layer.name] = !input.checked;
        syncOverlays();
        refresh();
      });
    });
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  if (config.overlays && config.overlays.length) extra.addTo(map);

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
  map.on("click", function (e) {
    if (measure.active) { measure.add(e.latlng); return; }
    var dot = capacityAt(e.latlng);
    if (dot) inspect(dot.properties, e.latlng);
  });
  L.control.scale({ imperial: false }).addTo(map);

  // --- coordinates under the pointer -------------------------------------------------------
  // UTM (WGS84) in the point's own zone, by the transverse Mercator series (Snyder, USGS
  // Professional Paper 1395, p. 61): well under a metre within a zone.
  function toUtm(lat, lon) {
    var zone = Math.min(60, Math.max(1, Math.floor((lon + 180) / 6) + 1));
    var a = 6378137, f = 1 / 298.257223563, k0 = 0.9996;
    var e2 = f * (2 - f), ep2 = e2 / (1 - e2);
    var phi = lat * Math.PI / 180, dl = (lon - (zone * 6 - 183)) * Math.PI / 180;
    var sin = Math.sin(phi), cos = Math.cos(phi), tan = Math.tan(phi);
    var n = a / Math.sqrt(1 - e2 * sin * sin), t = tan * tan, c = ep2 * cos * cos, A = cos * dl;
    var e4 = e2 * e2, e6 = e4 * e2;
    var m = a * ((1 - e2 / 4 - 3 * e4 / 64 - 5 * e6 / 256) * phi -
      (3 * e2 / 8 + 3 * e4 / 32 + 45 * e6 / 1024) * Math.sin(2 * phi) +
      (15 * e4 / 256 + 45 * e6 / 1024) * Math.sin(4 * phi) - (35 * e6 / 3072) * Math.sin(6 * phi));
    var x = k0 * n * (A + (1 - t + c) * Math.pow(A, 3) / 6 +
      (5 - 18 * t + t * t + 72 * c - 58 * ep2) * Math.pow(A, 5) / 120) + 500000;
    var y = k0 * (m + n * tan * (A * A / 2 + (5 - t + 9 * c + 4 * c * c) * Math.pow(A, 4) / 24 +
      (61 - 58 * t + t * t + 600 * c - 330 * ep2) * Math.pow(A, 6) / 720));
    if (lat < 0) y += 10000000;
    return { zone: zone + (lat < 0 ? "S" : "N"), easting: x, northing: y };
  }
  window.mapfirstUtm = toUtm;

  var touch = window.matchMedia && window.matchMedia("(hover: none)").matches;
  var Readout = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd: function () {
      var box = L.DomUtil.create("div", "mapfirst-control mapfirst-readout");
      box.id = "mapfirst-readout";
      box.setAttribute("aria-live", "off");
      this.what = L.DomUtil.create("span", "what", box);
      this.where = L.DomUtil.create("span", "where", box);
      this.utm = L.DomUtil.create("span", "utm", box);
      L.DomEvent.disableClickPropagation(box);
      return box;
    },
    show: function (latlng, what) {
      var u = toUtm(latlng.lat, latlng.lng);
      this.what.textContent = what;
      this.where.textContent = fixed(latlng.lat, 5) + "; " + fixed(latlng.lng, 5);
      this.utm.textContent = utmText(u);
    }
  });
  var readout = new Readout().addTo(map);
  function showCentre() { readout.show(map.getCenter(), touch ? "Centro" : "Centro del mapa"); }
  // A touch screen has no pointer hovering: the centre (marked by a cross), or the point tapped.
  if (touch) el.classList.add("mapfirst-touch");
  var inside = false;
  map.on("mousemove", function (e) {
    if (touch) return;
    inside = true;
    readout.show(e.latlng, "Puntero");
  });
  el.addEventListener("mouseleave", function () { inside = false; showCentre(); });
  map.on("moveend", function () { if (!inside) showCentre(); });
  map.on("click", function (e) { if (touch) readout.show(e.latlng, "Punto tocado"); });

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
  showCentre();

  window.mapfirst = { map: map, grid: grid, underlay: underlay, overlay: overlay };
})();
