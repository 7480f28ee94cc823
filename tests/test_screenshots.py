"""Render the school, municipal and objectivity reports in headless Chromium.

Checks that every image loads (``naturalWidth > 0`` in the browser), that the
screenshot is a real picture, and that the page makes no request to another host
(the report's CSP blocks them; the DOM check runs on a copy with a probe script).
Set ``MSOKO_SCREENSHOTS=<dir>`` to keep the screenshots for a person to look at.
Skips when Chromium is absent (Debian package ``chromium``).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from test_notebooks import _run, prepare_processed

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="нет chromium (apt-get install chromium)")]

PROBE = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); }).length;
  document.body.setAttribute('data-images', String(imgs.length));
  document.body.setAttribute('data-broken', String(broken));
  document.body.setAttribute('data-width', String(document.documentElement.scrollWidth));
  var charts = Array.prototype.slice.call(document.querySelectorAll('svg[role=img]'));
  var drawn = charts.filter(function (c) { var r = c.getBoundingClientRect(); return r.width > 50 && r.height > 30; });
  document.body.setAttribute('data-charts', String(charts.length) + '/' + String(drawn.length));
});
</script>"""


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module", params=["synthetic", "demo"])
def built(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"shots_{request.param}")
    path, sid = prepare_processed(request, tmp)
    out = tmp / "reports"
    out.mkdir()
    _run("school", out, school_id=sid, year=None, processed_dir=str(path))
    _run("municipality", out, year=None, municipality=None, processed_dir=str(path))
    _run("objectivity", out, year=None, processed_dir=str(path))
    return out, request.param


@pytest.mark.parametrize("name", ["school", "municipality", "objectivity"])
def test_rendered_in_chromium(built, name, tmp_path):
    built, kind = built
    html_path = built / f"{name}.html"
    html = html_path.read_text(encoding="utf-8")
    # 1) screenshot of the real file, as a reader opens it
    shot = tmp_path / f"{name}.png"
    r = _chromium([f"--screenshot={shot}", "--window-size=1280,2000", html_path.as_uri()], tmp_path / "p1")
    assert shot.exists() and shot.stat().st_size > 20_000, r.stderr[-2000:]
    from PIL import Image

    im = Image.open(shot).convert("L")
    assert im.size == (1280, 2000)
    lo, hi = im.getextrema()
    assert hi - lo > 100  # not a blank page
    keep = os.environ.get("MSOKO_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / f"{kind}_{shot.name}")
        shutil.copy(html_path, Path(keep) / f"{kind}_{html_path.name}")
    # 2) every image decodes in the browser (probe copy without the CSP that blocks scripts)
    probe = tmp_path / f"{name}_probe.html"
    probe.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
                     .replace("</body>", PROBE + "</body>"), encoding="utf-8")
    r = _chromium(["--dump-dom", "--virtual-time-budget=10000", probe.as_uri()], tmp_path / "p2")
    m = re.search(r'<body[^>]*data-images="(\d+)"[^>]*data-broken="(\d+)"[^>]*data-width="(\d+)"', r.stdout)
    assert m, r.stdout[:500] + r.stderr[-1000:]
    n_img, broken, width = map(int, m.groups())
    assert n_img == len(re.findall(r"<img\b", html))
    assert broken == 0
    c = re.search(r'data-charts="(\d+)/(\d+)"', r.stdout)
    assert c and c.group(1) == c.group(2), "каждый график SVG виден на странице"
    assert int(c.group(1)) == len(re.findall(r'<svg\b[^>]*role="img"', html))
    assert width <= 1280  # no horizontal scrolling on a laptop
