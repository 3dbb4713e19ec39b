"""The web audit under hostile captures: nothing a patron typed, or that names them, is shown;
special files and oversized captures are refused before they can hang or exhaust memory."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import AS_OF, DATA

from lcopia import cli, pipeline, web
from lcopia.errors import LcopiaError

SITE = "https://www.library.example"
CANARIES = {
    "path": "zqcanarypath",
    "topic": "gamblingcanary",
    "title": "custodycanary",
    "host": "zqcanaryhost",
    "ga_host": "zqcanaryga",
    "query": "zqcanaryquery",
    "cookie": "zqcanarycookie77",
    "header": "zqcanaryheader",
    "auth": "zqcanaryauth",
    "body": "zqcanarybody",
}


def _entry(url: str, *, referer: str | None = None, cookies: dict[str, str] | None = None,
           headers: dict[str, str] | None = None, post: str | None = None,
           document: bool = False, body: str | None = None) -> dict:
    head = [{"name": k, "value": v} for k, v in (headers or {}).items()]
    if referer:
        head.append({"name": "Referer", "value": referer})
    request: dict = {"method": "POST" if post is not None else "GET", "url": url,
                     "headers": head, "cookies": [{"name": k, "value": v}
                                                  for k, v in (cookies or {}).items()]}
    if post is not None:
        request["postData"] = {"mimeType": "text/plain", "text": post}
    content: dict = {"size": 1, "mimeType": "text/html" if document else "image/gif"}
    if body is not None:
        content["text"] = body
    return {"pageref": "page_1", "request": request,
            "response": {"status": 200, "headers": [], "cookies": [], "content": content}}


def _har(folder: Path, page: str, entries: list[dict], name: str = "capture.har",
         page_body: str | None = None) -> Path:
    doc = {"log": {"version": "1.2", "pages": [{"id": "page_1", "title": page}],
                   "entries": [_entry(page, document=True, body=page_body), *entries]}}
    path = folder / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _canary_capture(folder: Path) -> Path:
    c = CANARIES
    page = (f"{SITE}/patron/{c['path']}/subject/{c['topic']}/record/{c['title']}"
            f"?q={c['query']}+debt&type=keyword")
    return _har(folder, page, [
        _entry(f"https://{c['host']}.px.mystery-metrics.example/p.gif?u={c['query']}",
               referer=page, cookies={"sid": c["cookie"]},
               headers={"X-Patron": c["header"], "Authorization": f"Bearer {c['auth']}"}),
        _entry(f"https://{c['ga_host']}.google-analytics.com/g/collect?v=2&cid=1.2"
               f"&dl={page}", referer=page, post=f"en=page_view&note={c['body']}"),
        _entry(f"{SITE}/patron/{c['path']}/holds", cookies={"ses": c["cookie"]},
               headers={"X-Patron": c["header"]}),
    ])


def _leaks(text: str) -> list[str]:
    low = text.lower()
    return sorted(k for k, v in CANARIES.items() if v.lower() in low)


# ----------------------------------------------------------------------------- canaries


def test_canaries_in_paths_hosts_queries_cookies_and_headers_never_reach_any_output(
        tmp_path, capsys):
    path = _canary_capture(tmp_path)
    for fmt in ("json", "text"):
        assert cli.main(["web", str(path), "--format", fmt]) == 0
        captured = capsys.readouterr()
        assert _leaks(captured.out + captured.err) == [], fmt
    report = web.audit_files([path])
    assert _leaks(report.model_dump_json()) == []
    # and the report still says what was seen: structure kept, parties found
    page = report.captures[0].pages[0]
    assert page.url == f"{SITE}/patron/…/subject/…/record/…?q=…&type=…"
    assert {p.domain for p in report.third_parties} == {
        "mystery-metrics.example", "google-analytics.com"}


def test_patron_path_segment_is_masked_even_when_it_is_a_structural_word():
    assert web.mask_url(f"{SITE}/patron/holds/checkouts") == f"{SITE}/patron/…/checkouts"
    assert web.mask_url(f"{SITE}/users/search") == f"{SITE}/users/…"
    assert web.mask_url(f"{SITE}/account/holds") == f"{SITE}/account/holds"
    assert web.mask_url(f"{SITE}/subject/gambling-addiction") == f"{SITE}/subject/…"
    assert web.mask_url(f"{SITE}/blog/Zebulon") == f"{SITE}/blog/…"
    assert web.mask_url(f"{SITE}/Search/Results?lookfor=x") == f"{SITE}/Search/Results?lookfor=…"


def test_user_specific_subdomain_of_a_tracker_host_is_masked(tmp_path):
    page = f"{SITE}/"
    path = _har(tmp_path, page, [
        _entry("https://zquill-4711.px.mystery-metrics.example/p.gif", referer=page),
        _entry("https://region1.google-analytics.com/g/collect?v=2", referer=page),
    ])
    report = web.audit_files([path])
    hosts = {h for p in report.third_parties for h in p.hosts}
    assert hosts == {"….px.mystery-metrics.example", "region1.google-analytics.com"}
    assert web.masking.mask_host("zquill.library.example") == "….library.example"


# ----------------------------------------------------------------------------- special files


def _refused(path: Path, capsys) -> str:
    code = cli.main(["web", str(path)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "Traceback" not in captured.err
    assert str(path) in captured.err
    return captured.err


def test_symlinked_capture_is_refused_and_its_target_never_echoed(tmp_path, capsys):
    secret = tmp_path / "outside.txt"
    secret.write_text('{"log": {"entries": []}, "note": "zqcanarytarget"}')
    link = tmp_path / "capture.har"
    link.symlink_to(secret)
    err = _refused(link, capsys)
    assert "symbolic link" in err
    assert "zqcanarytarget" not in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_fifo_capture_is_refused_before_it_is_opened(tmp_path, capsys):
    fifo = tmp_path / "capture.har"
    os.mkfifo(fifo)
    assert "named pipe" in _refused(fifo, capsys)  # returns at once: never opened


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_device_capture_is_refused(capsys):
    assert "device" in _refused(Path("/dev/zero"), capsys)


def test_capture_over_the_size_limit_is_refused_with_exit_2(tmp_path, capsys, monkeypatch):
    path = _har(tmp_path, f"{SITE}/", [_entry(f"{SITE}/x{i}.png") for i in range(50)])
    monkeypatch.setattr(web, "MAX_HAR_BYTES", path.stat().st_size - 1)
    err = _refused(path, capsys)
    assert "limit" in err and "without response content" in err


def test_single_oversized_value_is_refused_without_echoing_it(tmp_path, capsys):
    huge = "zqcanarybody" + "x" * (web.MAX_VALUE_CHARS + 1)
    path = _har(tmp_path, f"{SITE}/", [], page_body=huge)
    err = _refused(path, capsys)
    assert "single value" in err
    assert "zqcanarybody" not in err


def test_oversized_request_body_is_refused(tmp_path, capsys):
    body = "q=" + "a" * (web.MAX_POST_CHARS + 1)
    path = _har(tmp_path, f"{SITE}/", [_entry("https://t.example/c", post=body)])
    assert "postData" in _refused(path, capsys)


# ----------------------------------------------------------------------------- tracker lists


def test_project_trackers_file_is_used_and_hashed(tmp_path, capsys):
    page = f"{SITE}/"
    path = _har(tmp_path, page, [_entry("https://chat.mystery-metrics.example/w.js",
                                        referer=page)])
    overlay = tmp_path / "web" / "trackers.yaml"
    overlay.parent.mkdir()
    overlay.write_text("as_of: 2026-06-01\nsources: test\ntrackers:\n"
                       "  - {domain: mystery-metrics.example, organisation: Mystery Metrics,\n"
                       "     category: analytics, source: vendor documentation}\n")
    report = web.audit_files([path], overlay=overlay)
    party = report.third_parties[0]
    assert (party.organisation, party.category) == ("Mystery Metrics", "analytics")

    assert report.tracker_files["web/trackers.yaml"] == hashlib.sha256(
        overlay.read_bytes()).hexdigest()
    assert set(report.tracker_files) == {web.PACKAGED_TRACKERS, "web/trackers.yaml",
                                         "lcopia/web/data/trackerdb/trackerdb.json"}
    assert cli.main(["web", str(path), "--trackers", str(overlay), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["third_parties"][0]["organisation"] == "Mystery Metrics"


def test_symlinked_project_trackers_file_is_refused(tmp_path):
    real = tmp_path / "elsewhere.yaml"
    real.write_text("as_of: 2026-06-01\nsources: x\ntrackers: []\n")
    (tmp_path / "web").mkdir()
    link = tmp_path / "web" / "trackers.yaml"
    link.symlink_to(real)
    path = _har(tmp_path, f"{SITE}/", [])
    with pytest.raises(LcopiaError) as err:
        web.audit_folder(tmp_path, overlay=link)
    assert "symbolic link" in str(err.value)
    assert path.exists()


def test_a_data_copy_uses_and_hashes_its_own_trackers_file(tmp_path):
    data = tmp_path / "data"
    for sub in ("policy", "taxonomy", "inventory"):
        shutil.copytree(DATA / sub, data / sub)
    shutil.copytree(DATA / "evidence" / "web", data / "evidence" / "web")
    (data / "web").mkdir()
    overlay = data / "web" / "trackers.yaml"
    overlay.write_text("as_of: 2026-06-01\nsources: test\ntrackers:\n"
                       "  - {domain: unknownchat.example, organisation: Unknown Chat Co,\n"
                       "     category: analytics, source: vendor documentation}\n")
    results = pipeline.compute(data, AS_OF)
    assert results.web is not None
    chat = next(p for p in results.web.third_parties if p.domain == "unknownchat.example")
    assert chat.organisation == "Unknown Chat Co"

    assert results.web.tracker_files["web/trackers.yaml"] == hashlib.sha256(
        overlay.read_bytes()).hexdigest()


if sys.platform == "win32":  # pragma: no cover - the suite runs on Linux
    pytestmark = pytest.mark.skip("POSIX special files")
