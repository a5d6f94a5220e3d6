/* Render every Vega-Lite spec of the page with the vendored vega-embed (no network, no fetch). */
(function () {
  "use strict";
  var OPTIONS = { actions: false, renderer: "svg" };

  function embed(target, spec) {
    if (!window.vegaEmbed) {
      target.textContent = "charts need static/vega-bundle.js, which did not load";
      return Promise.resolve(null);
    }
    return window.vegaEmbed(target, spec, OPTIONS).then(function (result) {
      target.setAttribute("data-rendered", "1");
      return result;
    }).catch(function (error) {
      target.textContent = "chart failed: " + error;
      console.error(error);
      return null;
    });
  }

  function embedAll() {
    var holder = document.getElementById("lb-specs");
    if (!holder) return;
    var specs = JSON.parse(holder.textContent);
    Object.keys(specs).forEach(function (id) {
      var target = document.getElementById(id);
      if (target) embed(target, specs[id]);
    });
  }

  window.LBCharts = { embed: embed, embedAll: embedAll };
  embedAll();
})();
