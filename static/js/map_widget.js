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
    delete options.base_layer_url;
    delete options.base_layer_attribution;
    // GeoDjango's inline script kept the widget in a global named after the field.
    window[el.dataset.module] = new MapWidget(options);
  });
})();
