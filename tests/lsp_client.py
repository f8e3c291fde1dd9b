"""A small Language Server Protocol client: starts ``spm lsp`` as an editor does and speaks JSON-RPC to it over
its stdin and stdout (Content-Length framed messages). Used by tests/test_lsp.py and by hand:

    python tests/lsp_client.py examples/plans/account_executive.spm 52:3 61:6
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

SERVER = [sys.executable, "-c", "from spmlang.cli import main; main()", "lsp"]


class ServerError(Exception):
    """The server answered a request with an error."""


class LspClient:
    def __init__(self, command: list[str] | None = None, cwd: str | None = None):
        self.process = subprocess.Popen(
            command or SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd
        )
        self._next_id = 0
        self._responses: dict[int, dict] = {}
        self.notifications: list[tuple[str, dict]] = []
        self.stderr: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    # ------------------------------------------------------------ the wire
    def _send(self, message: dict) -> None:
        body = json.dumps(message).encode("utf-8")
        self.process.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body)
        self.process.stdin.flush()

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while True:
                header = stream.readline()
                if not header:
                    with self._changed:
                        self._changed.notify_all()
                    return
                header = header.strip()
                if not header:
                    break
                name, _, value = header.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            message = json.loads(stream.read(length))
            with self._changed:
                if "method" in message and "id" in message:  # the server asks something: say yes, with nothing
                    self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
                elif "method" in message:
                    self.notifications.append((message["method"], message.get("params") or {}))
                else:
                    self._responses[message["id"]] = message
                self._changed.notify_all()

    def _drain_stderr(self) -> None:
        for line in self.process.stderr:
            self.stderr.append(line.decode("utf-8", "replace"))

    def request(self, method: str, params: dict | None = None, timeout: float = 30) -> object:
        self._next_id += 1
        number = self._next_id
        self._send({"jsonrpc": "2.0", "id": number, "method": method, "params": params or {}})
        deadline = time.monotonic() + timeout
        with self._changed:
            while number not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise TimeoutError(f"no answer to {method}; server said: {''.join(self.stderr)[-2000:]}")
                self._changed.wait(left)
            response = self._responses.pop(number)
        if "error" in response:
            raise ServerError(response["error"])
        return response.get("result")

    def notify(self, method: str, params: dict) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_for(self, method: str, test=lambda params: True, after: int = 0, timeout: float = 30) -> dict:
        """The first notification ``method`` (from the ``after``-th on) whose params pass ``test``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for name, params in self.notifications[after:]:
                    if name == method and test(params):
                        return params
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise TimeoutError(f"no {method}; server said: {''.join(self.stderr)[-2000:]}")
                self._changed.wait(left)

    # ------------------------------------------------------------ the protocol
    def initialize(self, capabilities: dict | None = None) -> dict:
        result = self.request("initialize", {"processId": None, "rootUri": None, "capabilities": capabilities or {}})
        self.notify("initialized", {})
        return result

    def open(self, uri: str, text: str, version: int = 1) -> list[dict]:
        """Open a document; its diagnostics."""
        mark = len(self.notifications)
        language = "spm-test" if uri.endswith(".test.spm") else "spm"
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": language, "version": version, "text": text}},
        )
        return self.diagnostics(uri, mark)

    def change(self, uri: str, text: str, version: int) -> list[dict]:
        """Replace a document's whole text; its diagnostics."""
        mark = len(self.notifications)
        self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
        )
        return self.diagnostics(uri, mark)

    def diagnostics(self, uri: str, after: int) -> list[dict]:
        params = self.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri, after)
        return params["diagnostics"]

    def at(self, method: str, uri: str, line: int, character: int, **extra) -> object:
        return self.request(
            method, {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}, **extra}
        )

    def close(self) -> int:
        try:
            self.request("shutdown", timeout=10)
            self.notify("exit", {})
            return self.process.wait(timeout=10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


def _show(path: str, positions: list[str]) -> None:
    """Open a plan and print what the server says at LINE:COLUMN positions (1-based, as spm counts)."""
    file = Path(path).resolve()
    uri = file.as_uri()
    client = LspClient()
    try:
        client.initialize()
        diagnostics = client.open(uri, file.read_text(encoding="utf-8"))
        print(f"diagnostics: {len(diagnostics)}")
        for d in diagnostics:
            print(
                f"  {d['range']['start']['line'] + 1}:{d['range']['start']['character'] + 1} "
                f"{d.get('code')} {d['message']}"
            )
        for position in positions:
            line, column = (int(part) for part in position.split(":"))
            text = file.read_text(encoding="utf-8").split("\n")[line - 1]
            print(f"\n===== {position}  |{text}")
            print(f"      {' ' * (len(position) + column - 1)}^")
            result = client.at("textDocument/hover", uri, line - 1, column - 1)
            print("--- hover")
            print(result["contents"]["value"] if result else "(nothing)")
            items = client.at("textDocument/completion", uri, line - 1, column - 1) or []
            if isinstance(items, dict):
                items = items["items"]
            print(f"--- completion ({len(items)})")
            print(", ".join(f"{i['label']}" + (f" ({i['detail']})" if i.get("detail") else "") for i in items))
    finally:
        client.close()


if __name__ == "__main__":
    _show(sys.argv[1], sys.argv[2:])
