/* Render every Vega-Lite spec of the page with the vendored vega-embed (no network, no fetch),
 * keep each chart's accessible name, and highlight one model in every chart of the page at once:
 * hovering a mark or a legend entry highlights its model (the `hl` signal of each chart),
 * pressing a legend entry keeps it highlighted. */
(function () {
  "use strict";
  var OPTIONS = { actions: false, renderer: "svg" };
  var views = [];
  var pinned = null;
  var hovered = null;

  function setSignal(view, value) {
    try { view.signal("hl", value).runAsync(); } catch (error) { /* a chart without the signal */ }
  }

  function apply() {
    var model = hovered !== null ? hovered : pinned;
    views.forEach(function (view) { setSignal(view, model); });
    Array.prototype.forEach.call(document.querySelectorAll(".legend-item"), function (button) {
      button.setAttribute("aria-pressed", button.getAttribute("data-model") === pinned ? "true" : "false");
      button.classList.toggle("is-hovered", button.getAttribute("data-model") === hovered);
    });
  }

  function highlight(model) { hovered = model || null; apply(); }
  function pin(model) { pinned = pinned === model ? null : model; apply(); }

  /* vega-embed labels its container "Vega visualization" (and gives it a graphics role):
   * put back the chart's own name and description. */
  function label(target, name) {
    var description = target.getAttribute("data-description");
    target.setAttribute("role", "img");
    target.setAttribute("aria-label", description ? name + ". " + description : name);
    target.removeAttribute("aria-roledescription");
    var svg = target.querySelector("svg");
    if (svg) {
      svg.setAttribute("aria-hidden", "true");
      svg.setAttribute("focusable", "false");
    }
  }

  function embed(target, spec, name) {
    var accessibleName = name || target.getAttribute("aria-label") || "chart";
    target.setAttribute("data-name", accessibleName);
    if (!window.vegaEmbed) {
      target.textContent = "charts need static/vega-bundle.js, which did not load";
      target.setAttribute("data-rendered", "failed");
      return Promise.resolve(null);
    }
    return window.vegaEmbed(target, spec, OPTIONS).then(function (result) {
      label(target, accessibleName);
      var view = result.view;
      views.push(view);
      view.addEventListener("pointerover", function (event, item) {
        if (item && item.datum && item.datum.model_name) highlight(item.datum.model_name);
      });
      view.addEventListener("pointerout", function (event, item) {
        if (item && item.datum && item.datum.model_name) highlight(null);
      });
      setSignal(view, hovered !== null ? hovered : pinned);
      target.setAttribute("data-rendered", "1");
      return result;
    }).catch(function (error) {
      target.textContent = "chart failed: " + error;
      target.setAttribute("data-rendered", "failed");
      console.error(error);
      return null;
    });
  }

  function release(result) {
    if (!result) return;
    views = views.filter(function (view) { return view !== result.view; });
    result.finalize();
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

  function wireLegends(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll(".legend-item"), function (button) {
      if (button.hasAttribute("data-wired")) return;
      button.setAttribute("data-wired", "1");
      var model = button.getAttribute("data-model");
      button.addEventListener("mouseenter", function () { highlight(model); });
      button.addEventListener("mouseleave", function () { highlight(null); });
      button.addEventListener("focus", function () { highlight(model); });
      button.addEventListener("blur", function () { highlight(null); });
      button.addEventListener("click", function () { pin(model); });
    });
  }

  window.LBCharts = {
    embed: embed, embedAll: embedAll, release: release, highlight: highlight, pin: pin,
    views: function () { return views.slice(); },
    current: function () { return hovered !== null ? hovered : pinned; },
    wireLegends: wireLegends,
  };
  wireLegends();
  embedAll();
})();
