"""Headless Chromium for the browser tests: one driver, a page served on a port of its own,
Swagger UI's try-it-out driven by hand."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Debian's chromium and chromium-driver are not installed",
)

FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


@contextmanager
def chromium(
    width: int = 1400, height: int = 900, prefs: dict[str, Any] | None = None
) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in (*FLAGS, f"--window-size={width},{height}"):
        options.add_argument(flag)
    if prefs:
        options.add_experimental_option("prefs", prefs)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP reports go there
    options.binary_location = str(CHROMIUM)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(20)
    # --window-size is the window's: grow it by the browser's own bars, so the page gets the size.
    bars = driver.execute_script(
        "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]"
    )
    driver.set_window_size(width + bars[0], height + bars[1])
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def serving(html: str) -> Iterator[int]:
    """Serve ``html`` at / on 127.0.0.1 (and so on localhost); yields the port."""
    body = html.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def try_it_out(driver: Any, operation_id: str, fill: dict[int, str] | None = None) -> str:
    """Open an operation in Swagger UI, press "Try it out", fill its inputs, execute; return the
    response body the page shows."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 30)
    # Swagger UI's ids keep the backslashes it puts before the dots of the operationId.
    escaped = operation_id.replace(".", r"\.")
    operation = wait.until(lambda d: d.find_element(By.XPATH, f"//*[contains(@id, '{escaped}')]"))
    driver.execute_script("arguments[0].scrollIntoView()", operation)
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(lambda _: operation.find_element(By.CSS_SELECTOR, "button.try-out__btn")).click()
    if fill:
        inputs = wait.until(lambda _: operation.find_elements(By.CSS_SELECTOR, "input"))
        for index, text in fill.items():
            inputs[index].send_keys(text)
    operation.find_element(By.CSS_SELECTOR, "button.execute").click()
    shown: str = wait.until(
        lambda _: (
            operation.find_element(
                By.CSS_SELECTOR, ".live-responses-table .response-col_description pre"
            ).text
        )
    )
    status = operation.find_element(
        By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status"
    )
    return f"{status.text.strip()} {shown}"
