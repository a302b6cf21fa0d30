// grader: typeset each formula of the page with KaTeX (grader/reporting/typeset.py).
// The server sends a formula as its LaTeX source, escaped, as the text of an element of
// class "math"; here it is read back as text and handed to KaTeX, which builds the DOM
// itself. Student LaTeX is hostile: no trust (no \href, \url, \html..., \includegraphics),
// limits on macro expansion and sizes, and source KaTeX cannot typeset stays as it was
// written, marked as an error (its message on hover). KaTeX's own error display
// (throwOnError: false) sets a style attribute, which the pages' Content-Security-Policy
// refuses: its errors are caught here and shown the same way, as the escaped source.
(function () {
  'use strict';
  var options = {
    throwOnError: true,
    trust: false,
    strict: 'ignore',
    maxExpand: 500,
    maxSize: 20,
    globalGroup: false,
    output: 'htmlAndMathml',
    errorColor: '#a40e26'
  };
  function typeset(element) {
    var source = element.textContent;
    options.displayMode = element.dataset.display === 'block';
    try {
      katex.render(source, element, options);
    } catch (error) {
      element.textContent = source;
      element.classList.add('math-error');
      element.title = String(error && error.message ? error.message : error);
    }
    element.classList.add('math-done');
  }
  function all() {
    if (typeof katex === 'undefined') return;
    var found = document.querySelectorAll('.math:not(.math-done)');
    for (var i = 0; i < found.length; i++) typeset(found[i]);
    document.documentElement.dataset.math = 'typeset';
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', all);
  else all();
})();
