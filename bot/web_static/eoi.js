// Optional: the pages work without it. A text area with a limit counts down as the headteacher types
// (the GOV.UK character count), announced politely to screen readers.
(function () {
  document.querySelectorAll("textarea[data-maxlength]").forEach(function (area) {
    var limit = parseInt(area.getAttribute("data-maxlength"), 10);
    var info = document.getElementById(area.id + "-info");
    if (!info || !limit) return;
    info.setAttribute("aria-live", "polite");
    function update() {
      var left = limit - area.value.length;
      info.textContent = left >= 0
        ? "You have " + left.toLocaleString("en-GB") + " character" + (left === 1 ? "" : "s") + " remaining"
        : "You have " + (-left).toLocaleString("en-GB") + " character" + (left === -1 ? "" : "s") + " too many";
      info.classList.toggle("govuk-character-count__message--over", left < 0);
    }
    area.addEventListener("input", update);
    update();
  });
})();
