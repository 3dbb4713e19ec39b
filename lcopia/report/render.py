"""Turning the executed Board notebook into an offline HTML page and a PDF.

nbconvert with our template (no code, no CDN scripts), then headless Chromium prints it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from lcopia.errors import LcopiaError, UsageError
from lcopia.report.common import NB_TEMPLATE, templates_dir

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
                timeout: int = CHROMIUM_TIMEOUT) -> Path:
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
    with tempfile.TemporaryDirectory(prefix="lcopia-pdf-") as tmp:
        printable = Path(tmp) / "print.html"
        printable.write_text(text, encoding="utf-8")
        profile = Path(tmp) / "profile"
        out = Path(tmp) / "out.pdf"
        cmd = [exe, *chromium_flags(profile), "--no-pdf-header-footer",
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


def render_board_report(executed_notebook: Path, out_dir: Path,
                        paper: str = "Letter") -> dict[str, Path]:
    """board-report.html (self-contained, code hidden) and board-report.pdf in out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html_file = out / "board-report.html"
    html_file.write_text(notebook_to_html(Path(executed_notebook)), encoding="utf-8")
    pdf_file = html_to_pdf(html_file, out / "board-report.pdf", paper=paper)
    return {"html": html_file, "pdf": pdf_file}
