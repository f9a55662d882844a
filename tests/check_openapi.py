#!/usr/bin/env python3
"""check_openapi.py - docs/openapi.yaml describes exactly the routes node/api/api.c registers: every
(method, path) of api.c's routes table is an operation in the OpenAPI file and vice versa;
docs/API.md names every route; the file is structurally OpenAPI 3.0 (every operation has
responses, every {param} in a path is declared as a path parameter, every $ref resolves)."""
import os, re, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
checks = 0


def check(cond, msg):
    global checks
    if not cond:
        print("check_openapi: FAILED: " + msg)
        sys.exit(1)
    checks += 1


def api_routes():
    """(METHOD, path) pairs of the routes table in node/api/api.c, parsed from its text."""
    text = open(os.path.join(ROOT, "node", "api", "api.c"), encoding="utf-8").read()
    table = re.search(r"routes\[\]\s*=\s*\{(.*?)\n\s*\};", text, re.S)
    check(table is not None, "node/api/api.c has a routes[] table")
    routes = set(re.findall(r'\{\s*"([A-Z]+)"\s*,\s*"(/[^"]*)"\s*,\s*h_\w+\s*\}', table.group(1)))
    entries = len(re.findall(r"\{\s*\"", table.group(1)))
    check(len(routes) == entries and entries > 0,
          "every routes[] entry parses as {\"METHOD\", \"/path\", h_handler} (%d of %d)" % (len(routes), entries))
    return routes


def load_yaml(path):
    try:
        import yaml
    except ImportError:
        return None
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def yaml_operations_fallback(text):
    """Without PyYAML: the two-space path keys under `paths:` and their four-space method keys."""
    ops, path, in_paths = set(), None, False
    for line in text.splitlines():
        if re.match(r"^\S", line):
            in_paths = line.startswith("paths:")
            continue
        if not in_paths:
            continue
        m = re.match(r"^  (/\S*):\s*$", line)
        if m:
            path = m.group(1)
            continue
        m = re.match(r"^    (%s):\s*$" % "|".join(METHODS), line)
        if m and path:
            ops.add((m.group(1).upper(), path))
    return ops


def resolve(doc, ref):
    check(ref.startswith("#/"), "only local $refs: %s" % ref)
    node = doc
    for part in ref[2:].split("/"):
        check(isinstance(node, dict) and part in node, "$ref %s resolves" % ref)
        node = node[part]
    return node


def walk_refs(doc, node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                resolve(doc, v)
            else:
                walk_refs(doc, v)
    elif isinstance(node, list):
        for v in node:
            walk_refs(doc, v)


def structural(doc):
    check(str(doc.get("openapi", "")).startswith("3.0."), "openapi: 3.0.x")
    check(isinstance(doc.get("info"), dict) and doc["info"].get("title") and doc["info"].get("version"),
          "info has title and version")
    ops = set()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            check(method in METHODS, "%s: %s is an HTTP method" % (path, method))
            ops.add((method.upper(), path))
            check(isinstance(op.get("responses"), dict) and op["responses"], "%s %s has responses" % (method, path))
            params = [resolve(doc, p["$ref"]) if "$ref" in p else p for p in op.get("parameters", [])]
            declared = {p["name"] for p in params if p.get("in") == "path"}
            needed = set(re.findall(r"\{(\w+)\}", path))
            check(declared == needed, "%s %s declares its path parameters %s (has %s)"
                  % (method, path, sorted(needed), sorted(declared)))
            check(all(p.get("required") for p in params if p.get("in") == "path"),
                  "%s %s: path parameters are required" % (method, path))
            for code in op["responses"]:
                check(re.fullmatch(r"[1-5]\d\d", str(code)), "%s %s: response code %s" % (method, path, code))
    walk_refs(doc, doc)
    return ops


def main():
    routes = api_routes()
    path = os.path.join(ROOT, "docs", "openapi.yaml")
    doc = load_yaml(path)
    if doc is not None:
        ops = structural(doc)
        check(yaml_operations_fallback(open(path, encoding="utf-8").read()) == ops,
              "the text scan agrees with the YAML parser")
    else:
        ops = yaml_operations_fallback(open(path, encoding="utf-8").read())
    check(routes - ops == set(), "routes in node/api/api.c missing from docs/openapi.yaml: %s" % sorted(routes - ops))
    check(ops - routes == set(), "operations in docs/openapi.yaml that node/api/api.c does not route: %s"
          % sorted(ops - routes))
    api_md = open(os.path.join(ROOT, "docs", "API.md"), encoding="utf-8").read()
    for method, p in sorted(routes):
        check(re.search(r"\|\s*%s\s*\|\s*\[?`%s[`?]" % (method, re.escape(p)), api_md),
              "docs/API.md's endpoint table lists %s %s" % (method, p))
    print("check_openapi: %d checks passed (%d routes%s)" % (checks, len(routes),
                                                            "" if doc is not None else ", without PyYAML"))


if __name__ == "__main__":
    main()
