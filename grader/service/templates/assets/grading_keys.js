
document.addEventListener('keydown', (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) {
    if (event.key === 'Enter' && event.target.matches('textarea')) {
      event.preventDefault(); document.getElementById('grade').requestSubmit();
    }
    return;
  }
  if (event.target.matches('textarea, input[type=text]')) {
    if (event.key === 'Escape') event.target.blur();
    return;
  }
  const go = (id) => { const link = document.getElementById(id); if (link) link.click(); };
  if (/^[1-9]$/.test(event.key)) {
    const box = document.querySelectorAll('#grade input[name=rubric]')[Number(event.key) - 1];
    if (box) { box.checked = !box.checked; event.preventDefault(); }
  } else if (event.key === 'Enter' && !event.target.matches('a, button')) {
    event.preventDefault(); document.getElementById('grade').requestSubmit();
  } else if (event.key === 'ArrowRight') { go('next-group'); }
  else if (event.key === 'ArrowLeft') { go('previous-group'); }
  else if (event.key === '/') { event.preventDefault(); document.getElementById('comment').focus(); }
});
