"""Consent banners: DuckDuckGo's autoconsent, injected into the page, finds a consent
manager and accepts it (the second pass of a capture), so the audit can compare what is
sent before and after a visitor agrees.

The content script talks to Python through two page globals (the package's Playwright
build): ``autoconsentSendMessage`` (bound here) and ``autoconsentReceiveMessage``.
Messages are queued by the binding and answered from :meth:`ConsentBridge.pump`, outside
Playwright's callback, so no browser call is ever made from inside an event handler.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

PACKAGE = "@duckduckgo/autoconsent"
SCRIPT_FILE = "autoconsent.playwright.js"
RULES_FILE = "rules.json"
SNAPSHOT_FILE = "snapshot.json"
DATA_DIR = Path(str(resources.files("lcopia.capture") / "data" / "autoconsent"))

FINISHED = frozenset({"nothingDetected", "optInSucceeded", "optInFailed", "done",
                      "optOutSucceeded", "optOutFailed"})
"""Lifecycle states after which autoconsent does nothing more on a page."""

CONFIG = {
    "enabled": True, "autoAction": "optIn", "disabledCmps": [], "enablePrehide": False,
    "enableCosmeticRules": False, "enableGeneratedRules": False, "detectRetries": 4,
    "isMainWorld": False, "prehideTimeout": 2000, "enableHeuristicDetection": False,
    "enablePopupMutationObserver": False, "visualTest": False,
    "logs": {"lifecycle": False, "rulesteps": False, "detectionsteps": False,
             "evals": False, "errors": False, "messages": False, "waits": False},
    "performanceLoggingEnabled": False, "heuristicPopupSearchTimeout": 0,
    "heuristicMode": "off",
}
"""Accept (``optIn``; ``None`` in the first pass: detect only, never click), with the
declarative and built-in rules only: no cosmetic hiding (hiding a banner is not consenting)
and no heuristics (they can only reject)."""


def load_snapshot(folder: Path | None = None) -> dict[str, Any]:
    """The vendored snapshot's record: package, version, date, licence, rule count."""
    path = (folder or DATA_DIR) / SNAPSHOT_FILE
    return json.loads(path.read_text("utf-8"))


def load_script(folder: Path | None = None) -> str:
    return ((folder or DATA_DIR) / SCRIPT_FILE).read_text("utf-8")


def load_rules(folder: Path | None = None) -> dict[str, Any]:
    return json.loads(((folder or DATA_DIR) / RULES_FILE).read_text("utf-8"))


@dataclass
class ConsentOutcome:
    """What autoconsent saw on the pages of one pass."""

    detected: list[str] = field(default_factory=list)
    popup: bool = False
    accepted: bool | None = None
    errors: int = 0

    def action(self) -> str:
        """The manifest's one-word account: accepted, accept_failed, no_banner."""
        if self.accepted:
            return "accepted"
        if self.accepted is False:
            return "accept_failed"
        return "banner_not_open" if self.detected else "no_banner"


class ConsentBridge:
    """The Python side of autoconsent for one browser context."""

    def __init__(self, context: Any, *, accept: bool, script: str | None = None,
                 rules: dict[str, Any] | None = None) -> None:
        self.script = script if script is not None else load_script()
        config = {**CONFIG, "autoAction": "optIn" if accept else None}
        self.init = json.dumps({"type": "initResp", "config": config,
                                "rules": rules if rules is not None else load_rules()})
        self.queue: list[tuple[Any, dict[str, Any]]] = []
        self.outcome = ConsentOutcome()
        self.lifecycles: dict[str, str] = {}
        context.expose_binding("autoconsentSendMessage", self._receive)
        context.add_init_script(script=self.script)

    def _receive(self, source: dict[str, Any], message: object) -> None:
        """Queue a message of the top frame. Frames inside the page are left alone: an
        answer waits for its frame's document, and a frame that never finishes loading
        would hold the capture past its time limit."""
        frame = source.get("frame")
        if isinstance(message, dict) and getattr(frame, "parent_frame", None) is None:
            self.queue.append((frame, message))

    def new_page(self) -> None:
        """Forget the previous page: its messages would be answered in the next document."""
        self.lifecycles.clear()
        self.queue.clear()

    @property
    def finished(self) -> bool:
        """An instance in the top frame has finished (a page can start two: one may
        accept while the other then finds the banner already gone)."""
        return any(state in FINISHED for state in self.lifecycles.values())

    def pump(self) -> None:
        """Answer every queued message; a frame that went away is skipped."""
        while self.queue:
            frame, message = self.queue.pop(0)
            kind = message.get("type")
            try:
                if kind == "init":
                    frame.evaluate(f"window.autoconsentReceiveMessage({self.init})")
                elif kind == "eval":
                    result = frame.evaluate(str(message.get("code", "")))
                    reply = json.dumps({"type": "evalResp", "id": message.get("id"),
                                        "result": bool(result)})
                    frame.evaluate(f"window.autoconsentReceiveMessage({reply})")
            except Exception:  # the frame navigated or closed: nothing left to answer
                continue
            self._note(frame, kind, message)

    def _note(self, frame: Any, kind: object, message: dict[str, Any]) -> None:
        if kind == "cmpDetected" and message.get("cmp") not in self.outcome.detected:
            self.outcome.detected.append(str(message.get("cmp")))
        elif kind == "popupFound":
            self.outcome.popup = True
        elif kind == "optInResult":
            self.outcome.accepted = bool(message.get("result")) or bool(self.outcome.accepted)
        elif kind == "autoconsentError":
            self.outcome.errors += 1
        elif kind == "report" and message.get("mainFrame"):
            state = message.get("state")
            if isinstance(state, dict) and isinstance(state.get("lifecycle"), str):
                key = str(message.get("instanceId"))
                if self.lifecycles.get(key) not in FINISHED:  # a late report never undoes it
                    self.lifecycles[key] = state["lifecycle"]
