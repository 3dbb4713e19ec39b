"""Turning the executed Board notebook into an offline HTML page and a PDF.

nbconvert with our template (no code, no CDN scripts), then headless Chromium prints it.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from lcopia.errors import LcopiaError, UsageError
from lcopia.report.common import NB_TEMPLATE, TOC_MARKER, templates_dir

CHROMIUM_TIMEOUT = 120


# --------------------------------------------------------------------------- rendering


def _check_executed(nb: Any, path: Path) -> None:
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                raise LcopiaError(
                    f"{path}: cell {i} failed ({out.get('ename', 'error')}); the report was "
                    "not rendered. Run lcopia assess again and read the kept notebook.")


def notebook_to_html(executed_notebook: Path) -> str:
    """nbconvert with inputs, prompts and code-like outputs removed, our offline template."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    nb = nbformat.read(str(executed_notebook), as_version=4)
    _check_executed(nb, executed_notebook)
    exporter = HTMLExporter(
        template_name=NB_TEMPLATE, extra_template_basedirs=[str(templates_dir())],
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
        embed_images=True, anchor_link_text="")
    exporter.register_preprocessor(TagRemovePreprocessor(
        remove_cell_tags={"remove_cell", "parameters", "injected-parameters"}, enabled=True),
        enabled=True)
    title = str(nb.metadata.get("title") or "Privacy impact assessment: report to the Board")
    body, _ = exporter.from_notebook_node(nb, resources={
        "metadata": {"name": title, "path": str(Path(executed_notebook).parent)},
        "report_title": title})
    return body


def chromium_path() -> str:
    return os.environ.get("LCOPIA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def chromium_flags(profile: Path) -> list[str]:
    """Flags that keep headless Chromium quiet on the network and independent of others."""
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--disable-quic", "--disable-default-apps", "--disable-extensions",
            "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}"]


def html_to_pdf(html_file: Path, pdf_file: Path, paper: str = "Letter",
                timeout: int = CHROMIUM_TIMEOUT, toc_pages: dict[str, int] | None = None
                ) -> Path:
    """Print an HTML file to PDF with headless Chromium, page size set for the copy printed.

    Chromium exits 0 even when it writes nothing, so the file itself is checked.
    """
    if paper not in {"Letter", "A4"}:
        raise UsageError(f"paper must be Letter or A4, got {paper!r}")
    exe = chromium_path()
    if not Path(exe).exists() and shutil.which(exe) is None:
        raise LcopiaError(f"Chromium was not found at {exe}; it prints the PDF. Install it "
                          "with `make deps` (Debian package chromium), then run again.")
    pdf_file = Path(pdf_file)
    pdf_file.unlink(missing_ok=True)
    text = Path(html_file).read_text(encoding="utf-8")
    page_css = f"<style>@page {{ size: {paper}; }}</style>"
    text = text.replace("</head>", page_css + "</head>", 1)
    if toc_pages:
        text = fill_contents(text, toc_pages)
    with tempfile.TemporaryDirectory(prefix="lcopia-pdf-") as tmp:
        printable = Path(tmp) / "print.html"
        printable.write_text(text, encoding="utf-8")
        profile = Path(tmp) / "profile"
        out = Path(tmp) / "out.pdf"
        cmd = [exe, *chromium_flags(profile), "--no-pdf-header-footer",
               "--generate-pdf-document-outline",  # headings become PDF bookmarks
               f"--print-to-pdf={out}", printable.as_uri()]
        try:
            subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise LcopiaError(f"Chromium took longer than {timeout} s to print {html_file}; "
                              "close other Chromium windows and run again.") from None
        except OSError as exc:
            raise LcopiaError(f"Chromium could not start ({exc.strerror}); reinstall it with "
                              "`make deps`.") from None
        if not out.is_file() or out.stat().st_size == 0 or not out.read_bytes().startswith(
                b"%PDF"):
            raise LcopiaError(f"Chromium wrote no PDF for {html_file}. Check that the "
                              "chromium package is installed (`make deps`) and run again.")
        shutil.move(str(out), str(pdf_file))
    return pdf_file


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", html.unescape(text))


def fill_contents(page: str, pages: dict[str, int] | None = None) -> str:
    """The table of contents, filled from the page's own section headings.

    The Contents section leaves a marker; each ``<h2>`` nbconvert gave an id becomes a link,
    and in the printed copy ``pages`` (heading text → page, read from the PDF's outline)
    adds its page number. Without pages a same-width blank keeps the layout identical, so
    the numbers read in a first printing still hold in the second.
    """
    if TOC_MARKER not in page:
        return page
    items = []
    for m in re.finditer(r'<h2 id="([^"]+)">(.*?)<a class="anchor-link"', page):
        ident, title = m.group(1), m.group(2)
        if ident == "Contents":
            continue
        number = (pages or {}).get(_norm(re.sub(r"<[^>]+>", "", title)))
        shown = str(number) if number else "\u2007\u2007"
        items.append(f'<li><a href="#{html.escape(ident)}">{title}</a>'
                     f'<span class="toc-page">{shown}</span></li>')
    return page.replace(TOC_MARKER, '<ol class="toc">' + "".join(items) + "</ol>", 1)


def outline_pages(pdf_file: Path) -> dict[str, int]:
    """Top-level bookmark titles of a PDF with their pages (poppler's pdftohtml reads them).

    Empty when poppler is not installed: the contents then list sections without pages.
    """
    exe = shutil.which("pdftohtml")
    if exe is None:
        return {}
    try:
        xml = subprocess.run([exe, "-xml", "-stdout", "-i", "-q", str(pdf_file)],
                             capture_output=True, check=True, timeout=CHROMIUM_TIMEOUT,
                             stdin=subprocess.DEVNULL).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return {}
    pages: dict[str, int] = {}
    for m in re.finditer(r'<item page="(\d+)">(.*?)</item>', xml):
        pages.setdefault(_norm(m.group(2)), int(m.group(1)))
    return pages


def render_board_report(executed_notebook: Path, out_dir: Path,
                        paper: str = "Letter") -> dict[str, Path]:
    """board-report.html (self-contained, code hidden) and board-report.pdf in out_dir.

    The PDF is printed twice when its contents need page numbers: the first printing tells
    on which page each section starts.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html_file = out / "board-report.html"
    page = notebook_to_html(Path(executed_notebook))
    html_file.write_text(fill_contents(page), encoding="utf-8")
    pdf_file = html_to_pdf(html_file, out / "board-report.pdf", paper=paper)
    if TOC_MARKER in page:
        pages = outline_pages(pdf_file)
        if pages:
            with tempfile.TemporaryDirectory(prefix="lcopia-toc-") as tmp:
                marked = Path(tmp) / "board-report.html"
                marked.write_text(page, encoding="utf-8")
                html_to_pdf(marked, pdf_file, paper=paper, toc_pages=pages)
    return {"html": html_file, "pdf": pdf_file}
