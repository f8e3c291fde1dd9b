// The spmlang extension: starts `spm lsp` (the language server of spmlang) for .spm and .test.spm files.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function serverOptions() {
  const config = vscode.workspace.getConfiguration("spm");
  const command = config.get("server.command", "spm");
  const args = config.get("server.args", ["lsp"]);
  return { command, args, transport: TransportKind.stdio };
}

async function start() {
  const options = serverOptions();
  client = new LanguageClient("spm", "spmlang", options, {
    documentSelector: [
      { scheme: "file", language: "spm" },
      { scheme: "untitled", language: "spm" },
    ],
  });
  try {
    await client.start();
  } catch (error) {
    client = undefined;
    const shown = [options.command, ...options.args].join(" ");
    vscode.window.showErrorMessage(
      `spmlang: could not start \`${shown}\` (${error.message || error}). Install spmlang with ` +
        "`pip install 'spmlang[lsp]'`, or set spm.server.command to the spm of your project's virtual environment."
    );
  }
}

async function restart() {
  if (client) {
    await client.stop();
    client = undefined;
  }
  await start();
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("spm.restartServer", restart),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("spm.server")) {
        restart();
      }
    })
  );
  await start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
