"""Real headless Chromium (Debian's package) driven by Playwright, and pages that record errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright

from tests.support.services import require_executable

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


async def launch_chromium(playwright: Playwright) -> Browser:
    executable = require_executable("chromium", "/usr/bin/chromium")
    return await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


@dataclass
class Pages:
    """Opens pages, each in its own browser context (its own storage, like another person), and
    records every console error and uncaught exception they produce."""

    browser: Browser
    errors: list[str] = field(default_factory=list)
    contexts: list[BrowserContext] = field(default_factory=list)

    async def new(self, label: str, **context_options: Any) -> Page:
        context = await self.browser.new_context(**context_options)
        self.contexts.append(context)
        return await self.another(context, label)

    async def another(self, context: BrowserContext, label: str) -> Page:
        """One more page in a context opened here (the same person's storage), watched alike."""
        page = await context.new_page()

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.errors.append(f"{label}: console error: {message.text} {message.location}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"{label}: uncaught: {exc}"))
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


async def screenshot(page: Page, name: str) -> Path:
    """Save a screenshot under test-artifacts/ (kept by CI, ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]', '-', name)}.png"
    # Animations jump to their end, so the picture shows what stays on screen.
    await page.screenshot(path=str(path), full_page=False, animations="disabled")
    return path
