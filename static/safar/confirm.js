// Ask before a step that is hard to take back (forms with data-confirm). Without JavaScript the form still works.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A page opened at a #fragment (a family on the boarding page) skips autofocus: give the focus to the field that
// asks for it, e.g. the reason of an undo refused for want of one.
document.addEventListener("DOMContentLoaded", function () {
  var wanted = document.querySelector("[autofocus]");
  if (wanted && document.activeElement === document.body) {
    wanted.focus();
  }
});
