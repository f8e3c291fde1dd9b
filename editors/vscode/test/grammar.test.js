// The TextMate grammar, run by the engine VS Code uses (vscode-textmate with Oniguruma) on spm's example plans:
// each kind of token gets its scope. Run with `npm test` (after `npm ci`).
"use strict";

const assert = require("node:assert");
const fs = require("node:fs");
const path = require("node:path");
const { test } = require("node:test");
const oniguruma = require("vscode-oniguruma");
const textmate = require("vscode-textmate");

const HERE = __dirname;
const PLANS = path.join(HERE, "..", "..", "..", "examples", "plans");

async function grammar() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async () => {
      const file = path.join(HERE, "..", "syntaxes", "spm.tmLanguage.json");
      return textmate.parseRawGrammar(fs.readFileSync(file, "utf8"), file);
    },
  });
  return registry.loadGrammar("source.spm");
}

// Every token of a text: [text, innermost scope].
function tokens(spm, text) {
  const found = [];
  let stack = textmate.INITIAL;
  for (const line of text.split("\n")) {
    const result = spm.tokenizeLine(line, stack);
    for (const token of result.tokens) {
      found.push([line.slice(token.startIndex, token.endIndex), token.scopes[token.scopes.length - 1]]);
    }
    stack = result.ruleStack;
  }
  return found;
}

function scopeOf(found, text) {
  const token = found.find(([piece]) => piece.trim() === text);
  assert.ok(token, `no token ${JSON.stringify(text)}`);
  return token[1];
}

test("each kind of token of the account executive plan has its scope", async () => {
  const spm = await grammar();
  const found = tokens(spm, fs.readFileSync(path.join(PLANS, "account_executive.spm"), "utf8"));
  const expected = {
    "# Account Executive plan — FY2027": "comment.line.number-sign.spm",
    plan: "storage.type.block.spm",
    component: "storage.type.component.spm",
    commission: "entity.name.function.component.spm",
    spif: "storage.type.component.spm",
    quarterly: "support.constant.spm",
    year_to_date: "support.constant.spm",
    money: "support.type.column.spm",
    deal_id: "variable.other.column.spm",
    "2027-01-01": "constant.numeric.date.spm",
    "8%": "constant.numeric.percent.spm",
    "1.5x": "constant.numeric.multiplier.spm",
    "$1,000": "constant.numeric.money.spm",
    "24": "constant.numeric.spm",
    "..": "keyword.operator.range.spm",
    ">=": "keyword.operator.comparison.spm",
    accelerator: "keyword.other.spm",
    multiplier: "keyword.other.spm",
    when: "keyword.other.spm",
    target: "keyword.other.spm",
    and: "keyword.operator.word.spm",
    in: "keyword.operator.word.spm",
  };
  for (const [text, scope] of Object.entries(expected)) {
    assert.strictEqual(scopeOf(found, text), scope, text);
  }
  const string = found.filter(([, scope]) => scope === "string.quoted.double.spm").map(([piece]) => piece).join("");
  assert.ok(string.includes("Account Executive FY2027"), string);
});

test("periods, lookups, functions and test words", async () => {
  const spm = await grammar();
  const crm = tokens(spm, fs.readFileSync(path.join(PLANS, "crm_agents.spm"), "utf8"));
  assert.strictEqual(scopeOf(crm, "series_rates"), "entity.name.type.table.spm");
  assert.strictEqual(scopeOf(crm, "replace"), "support.function.spm");
  assert.strictEqual(scopeOf(crm, "manager_override"), "entity.name.function.component.spm");
  const tests = tokens(spm, fs.readFileSync(path.join(PLANS, "account_executive.test.spm"), "utf8"));
  assert.strictEqual(scopeOf(tests, "2027-Q1"), "constant.numeric.period.spm");
  assert.strictEqual(scopeOf(tests, "expect"), "keyword.other.spm");
  assert.strictEqual(scopeOf(tests, "payout"), "keyword.other.spm");
  assert.strictEqual(scopeOf(tests, "test"), "storage.type.block.spm");
});

test("a dated version is a block; `from` in a rollup is a word of its statement", async () => {
  const spm = await grammar();
  const july = tokens(spm, fs.readFileSync(path.join(PLANS, "account_executive_july.spm"), "utf8"));
  assert.strictEqual(scopeOf(july, "from"), "storage.type.block.spm");
  const rollup = tokens(spm, "transactions {\n  rollup to manager from roster\n}");
  assert.strictEqual(scopeOf(rollup, "from"), "keyword.other.spm");
});

test("a column named like a keyword is not one inside an expression", async () => {
  const spm = await grammar();
  const found = tokens(spm, "transactions {\n  column date date\n  where recent: date >= 2027-01-01\n}");
  const dates = found.filter(([piece]) => piece.trim() === "date").map(([, scope]) => scope);
  assert.deepStrictEqual(dates, ["variable.other.column.spm", "support.type.column.spm", "source.spm"]);
});
