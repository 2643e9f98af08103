"""Drives the dashboard in a real headless Chromium over the DevTools protocol (websocket-client).

Usage: dashboard_browser.py URL TOKEN SCREENSHOT_DIR
Opens URL, logs in with TOKEN by typing it, waits for two refreshes, reads every number the page shows (its
data-value attributes and table rows), switches to Persian, reads again, keeps a screenshot of each, then tries a
wrong token. Prints one JSON object; every console message, uncaught exception and browser log error is listed
in it (the caller asserts there are none). Exits non-zero when Chromium or the page cannot be driven.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import base64

import websocket  # websocket-client (pip), installed by .ci/run

DEADLINE_SECONDS = 30


class Browser:
    def __init__(self):
        binary = shutil.which("chromium") or shutil.which("chromium-browser")
        if binary is None:
            raise SystemExit("chromium is not installed (Debian's chromium package; .ci/run installs it)")
        self.profile = tempfile.mkdtemp(prefix="dashboard-chromium-")
        self.process = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--remote-debugging-port=0", "--user-data-dir=" + self.profile,
             "--window-size=1280,1200", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        browser_url = None
        deadline = time.time() + DEADLINE_SECONDS
        while browser_url is None and time.time() < deadline:
            line = self.process.stderr.readline()
            if line == "" and self.process.poll() is not None:
                raise SystemExit("chromium exited before listening")
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            if match:
                browser_url = match.group(1)
        if browser_url is None:
            raise SystemExit("chromium did not listen within %d s" % DEADLINE_SECONDS)
        self.socket = websocket.create_connection(browser_url, timeout=DEADLINE_SECONDS)
        self.next_id = 0
        self.events = []
        target = self.command("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.command("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.command(domain + ".enable", session=True)

    def command(self, method, params=None, session=False):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        self.socket.send(json.dumps(message))
        while True:
            answer = json.loads(self.socket.recv())
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise CommandFailed("%s failed: %s" % (method, answer["error"]))
                return answer.get("result", {})
            self.events.append(answer)

    def evaluate(self, expression):
        result = self.command("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                   "awaitPromise": True}, session=True)
        if "exceptionDetails" in result:
            raise SystemExit("evaluate failed: %s" % result["exceptionDetails"])
        return result["result"].get("value")

    def wait_for(self, expression, what):
        deadline = time.time() + DEADLINE_SECONDS
        while time.time() < deadline:
            try:
                if self.evaluate(expression):
                    return
            except CommandFailed as failure:
                # Asked while the page was navigating (a reload, the first load): its context went away under
                # the call. Not an answer: ask again. Anything else is a failure.
                if "navigated or closed" not in str(failure) and "context" not in str(failure).lower():
                    raise
            time.sleep(0.1)
        raise SystemExit("timed out waiting for " + what)

    def problems(self):
        """Console messages, uncaught exceptions and browser log errors (CSP refusals, failed loads) seen so far."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                found.append("console.%s: %s" % (params.get("type"), [a.get("value") for a in params.get("args", [])]))
            elif method == "Runtime.exceptionThrown":
                found.append("exception: %s" % params.get("exceptionDetails", {}).get("exception", {}).get("description"))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
                entry = params["entry"]
                found.append("log %s/%s: %s" % (entry.get("source"), entry.get("level"), entry.get("text")))
        return found

    def screenshot(self, path):
        data = self.command("Page.captureScreenshot", {"format": "png"}, session=True)
        with open(path, "wb") as file:
            file.write(base64.b64decode(data["data"]))

    def close(self):
        try:
            self.socket.close()
        finally:
            self.process.kill()
            self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)


READ_PAGE = """(() => {
  const values = {};
  for (const element of document.querySelectorAll("dd[id], td[id]")) {
    values[element.id] = {value: element.dataset.value, text: element.textContent};
  }
  const tables = {};
  for (const table of document.querySelectorAll("table[id]")) {
    tables[table.id] = [...table.tBodies[0].rows].map((row) => [...row.cells].map((cell) =>
      ({value: cell.dataset.value === undefined ? null : cell.dataset.value, text: cell.textContent,
        header: cell.tagName === "TH", scope: cell.scope || null})));
  }
  const headings = [...document.querySelectorAll("thead th")].filter((th) => th.scope === "col").length;
  return {dir: document.documentElement.dir, lang: document.documentElement.lang, title: document.title,
    values: values, tables: tables, columnHeadings: headings,
    labelled: document.querySelector("label[for=token]") !== null,
    sessionToken: sessionStorage.getItem("loyalty-dashboard-token"), localItems: localStorage.length,
    heading: document.getElementById("traffic-title").textContent,
    auditMessageHidden: document.getElementById("audit-message").hidden};
})()"""


class CommandFailed(SystemExit):
    """A DevTools command answered with an error (the run stops with it unless a caller may ask again)."""


def main():
    url, token, directory = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(directory, exist_ok=True)
    browser = Browser()
    report = {}
    try:
        browser.command("Page.navigate", {"url": url}, session=True)
        browser.wait_for("document.readyState === 'complete' && !document.getElementById('login').hidden",
                         "the login form")
        report["beforeLogin"] = browser.evaluate("document.getElementById('board').hidden")
        browser.evaluate("document.getElementById('token').focus()")
        browser.command("Input.insertText", {"text": token}, session=True)
        browser.evaluate("document.getElementById('login-submit').click()")
        browser.wait_for("Number(document.getElementById('updated').dataset.refreshes || 0) >= 2", "two refreshes")
        report["english"] = browser.evaluate(READ_PAGE)
        browser.screenshot(os.path.join(directory, "dashboard.png"))
        browser.evaluate("document.getElementById('language').click()")
        browser.wait_for("document.documentElement.dir === 'rtl'", "the right-to-left page")
        report["persian"] = browser.evaluate(READ_PAGE)
        browser.screenshot(os.path.join(directory, "dashboard-fa.png"))
        report["problems"] = browser.problems()
        # A wrong token: the page goes back to the login form and says why (the 401 itself is logged as a failed
        # load by the browser, so it is read after the problems above).
        browser.evaluate("sessionStorage.setItem('loyalty-dashboard-token', 'wrong'); location.reload()")
        browser.wait_for("document.readyState === 'complete' && !document.getElementById('login').hidden "
                         "&& !document.getElementById('login-message').hidden", "the refusal")
        report["refusal"] = browser.evaluate("document.getElementById('login-message').textContent")
        report["tokenAfterRefusal"] = browser.evaluate("sessionStorage.getItem('loyalty-dashboard-token')")
    finally:
        browser.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
