// Messages that tell the outcome of what was just done ("Case DYU-2026-00012 cleared for travel.", "Nothing was
// booked: …") are in the page when it opens, after the redirect. Screen readers read out what changes in a live
// region, not what a region holds when the page loads: so their words are put into the page's empty live regions
// (templates/base.html) a moment after it has loaded — a refusal in the assertive one, the rest in the polite one.
// The messages themselves stay where they are, seen as before; nothing moves the keyboard's focus.
window.addEventListener("load", function () {
  var polite = document.getElementById("announce-polite");
  var assertive = document.getElementById("announce-assertive");
  if (!polite || !assertive) {
    return;
  }
  var said = {polite: [], assertive: []};
  document.querySelectorAll(".messages .msg, p.msg[role=status]").forEach(function (message) {
    var text = message.textContent.trim();
    if (text) {
      said[message.classList.contains("error") ? "assertive" : "polite"].push(text);
    }
  });
  window.setTimeout(function () {
    polite.textContent = said.polite.join(" ");
    assertive.textContent = said.assertive.join(" ");
  }, 300);
});
