// Reads papertide's citation files the way citation-js does, for tests/test_citations_readers.py.
// stdin: a JSON list of {"name", "format" ("bibtex" | "ris" | "csl"), "text"}; stdout: a JSON list of
// {"name", "items" (CSL-JSON as citation-js parsed them), "apa" (the APA bibliography, plain text)} or
// {"name", "error"} where citation-js refused the input. One process reads every input of a test run.
import { Cite, plugins } from "@citation-js/core";
import "@citation-js/plugin-bibtex";
import "@citation-js/plugin-ris";
import "@citation-js/plugin-csl";

// citation-js guesses a text's format; the caller knows it, so nothing is left to the guess.
const FORCED = { bibtex: "@bibtex/text", ris: "@ris/file", csl: "@csl/list+object" };

function read(input) {
  const data = input.format === "csl" ? JSON.parse(input.text) : input.text;
  try {
    const cite = new Cite(data, { forceType: FORCED[input.format] });
    const items = cite.get({ format: "real", type: "json", style: "csl" });
    const apa = cite.format("bibliography", { format: "text", template: "apa", lang: "en-US" });
    return { name: input.name, items, apa };
  } catch (error) {
    return { name: input.name, error: String(error && error.message ? error.message : error) };
  }
}

let raw = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { raw += chunk; });
process.stdin.on("end", () => {
  process.stdout.write(JSON.stringify(JSON.parse(raw).map(read)));
});
