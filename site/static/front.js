/* The front page's "lowest energy per response at or above an accuracy" answers: recomputed in
 * the browser from the inline candidates (the busiest board of each task) as the threshold moves. */
(function () {
  "use strict";
  var holder = document.getElementById("front-data");
  if (!holder) return;
  var DATA = JSON.parse(holder.textContent);
  var format = window.LB.formatNumber;

  function answer(task, threshold) {
    var entry = DATA[task];
    var best = null;
    entry.candidates.forEach(function (c) {
      if (c.accuracy < threshold) return;
      if (!best || c.value < best.value || (c.value === best.value && c.accuracy > best.accuracy)) best = c;
    });
    return best;
  }

  function render(input) {
    var task = input.getAttribute("data-task");
    var output = document.querySelector('output.acc-answer[data-task="' + CSS.escape(task) + '"]');
    var threshold = parseFloat(input.value);
    output.textContent = "";
    if (!isFinite(threshold)) { output.textContent = "type an accuracy between 0 and 1"; return; }
    var best = answer(task, threshold);
    if (!best) { output.textContent = "no configuration reaches accuracy " + format(threshold, 3); return; }
    var unit = DATA[task].metric === "energy_per_response_j" ? " J per response" : " s mean latency";
    var link = document.createElement("a");
    link.href = "models/" + encodeURIComponent(best.model_slug) + ".html";
    link.textContent = best.model;
    output.appendChild(link);
    var config = (best.max_num_seqs && best.source !== "published" ? "steady state, " : "") +
      (best.configuration || ("batch " + (best.batch_size === null ? "not published" : best.batch_size)));
    output.appendChild(document.createTextNode(
      " (" + config + (best.backend ? ", " + best.backend : "") + "): " + format(best.value, 3) + unit +
      ", accuracy " + format(best.accuracy, 3)));
  }

  Array.prototype.forEach.call(document.querySelectorAll("input.acc-threshold"), function (input) {
    input.addEventListener("input", function () { render(input); });
  });
  window.LBFront = { answer: answer };
})();
