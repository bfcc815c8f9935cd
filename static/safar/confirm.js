// Ask before a step that is hard to take back (forms with data-confirm). Without JavaScript the form still works.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// Where the keyboard goes when a page opens. At a #fragment the browser skips autofocus, and its scroll to the
// fragment, which comes after DOMContentLoaded, takes away a focus given earlier: so this runs once the page has
// loaded. A field that asks for it (the reason of an undo refused for want of one) gets the focus; on the boarding
// page, opened at the person just marked (#pax-…), the next one to mark in that family does, or that person's
// own "Undo…", so that the next Tab does not start again from the top of the family.
window.addEventListener("load", function () {
  window.setTimeout(function () {
    if (document.activeElement && document.activeElement !== document.body) {
      return;  // someone already put it somewhere
    }
    var wanted = document.querySelector("[autofocus]");
    if (!wanted && window.location.hash.indexOf("#pax-") === 0) {
      var row = document.getElementById(window.location.hash.slice(1));
      for (var next = row; next && !wanted; next = next.nextElementSibling) {
        wanted = next.querySelector(".bd-yes");
      }
      if (!wanted && row) {
        wanted = row.querySelector("summary, button");
      }
    }
    if (wanted) {
      wanted.focus();
    }
  }, 0);
});
