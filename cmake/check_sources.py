#!/usr/bin/env python3
"""Checks that cmake/sources.cmake mirrors the Bazel build (//cmake:sources_test).

Usage: check_sources.py <bazel_graph.xml> <sources.cmake>

The XML is `bazel query --output=xml` of every C++ rule of this repository that
the host library (//:cache_alchemy) and the plugins built by CMakeLists.txt
reach. Each such rule must have one `ca_sources(<label> ...)` entry in
sources.cmake with the same files, external deps, copts and linkopts, and the
CMake targets it is compiled into:

  cache_alchemy          the host library: the closure of //:cache_alchemy
                         over `deps` (its `data` are the plugins);
  <module>               a plugin library <module>.so: the closure of its
                         cc_binary over `deps`.

A rule reached from several places lists every target. Exits 1 and prints,
for each difference, what to add or remove and where.
"""

import re
import sys
import xml.etree.ElementTree as ET

HOST = "//:cache_alchemy"
HOST_TARGET = "cache_alchemy"
LIST_FIELDS = ["TARGETS", "SRCS", "HDRS", "DEPS", "COPTS", "LINKOPTS"]
ONE_FIELDS = ["LINKER_SCRIPT"]
FIELDS = LIST_FIELDS + ONE_FIELDS
# Attributes that change how a rule builds but that ca_sources() cannot
# express yet: using one needs CMakeLists.txt (and this check) extended.
UNMIRRORED = ["defines", "local_defines", "includes", "include_prefix",
              "strip_include_prefix", "textual_hdrs", "implementation_deps",
              "linkstatic_for_shared", "win_def_file"]
VERSION_SCRIPT = re.compile(r"^-Wl,--version-script=\$\(location (\S+)\)$")


def short_label(label):
    """'@x//:x' -> '@x'; '//a/b:b' -> '//a/b'; others unchanged."""
    m = re.fullmatch(r"(@[\w.-]*)?//([^:]*):(.+)", label)
    if not m:
        return label
    repo, pkg, name = m.group(1) or "", m.group(2), m.group(3)
    if pkg == "" and repo and name == repo[1:]:
        return repo
    if pkg and name == pkg.split("/")[-1]:
        return f"{repo}//{pkg}"
    return label


def file_path(label):
    """'//core:internal/x.cc' -> 'core/internal/x.cc'."""
    pkg, name = label[2:].split(":", 1)
    return f"{pkg}/{name}" if pkg else name


def read_graph(path):
    rules = {}
    for rule in ET.parse(path).getroot().iter("rule"):
        attrs = {"class": rule.get("class"), "location": rule.get("location")}
        for child in rule:
            name = child.get("name")
            if child.tag == "list":
                attrs[name] = [item.get("value") for item in child]
            elif child.tag in ("string", "boolean", "label"):
                attrs[name] = child.get("value")
        rules[rule.get("name")] = attrs
    return rules


def closure(rules, root):
    seen, todo = set(), [root]
    while todo:
        label = todo.pop()
        if label in seen or label not in rules:
            continue
        seen.add(label)
        todo += rules[label].get("deps", [])
    return seen


def expected_entries(rules):
    """label -> {field: list} as sources.cmake should have it; and problems."""
    problems = []
    owners = {}  # label -> set of CMake targets
    for label in closure(rules, HOST):
        owners.setdefault(label, set()).add(HOST_TARGET)
    for label, attrs in rules.items():
        if attrs["class"] == "cc_binary" and attrs.get("linkshared") == "true":
            module = label.split(":", 1)[1]
            module = module[:-3] if module.endswith(".so") else module
            for reached in closure(rules, label):
                owners.setdefault(reached, set()).add(module)
    entries = {}
    for label, targets in owners.items():
        attrs = rules[label]
        where = attrs["location"].rsplit(":", 1)[0]
        for name in UNMIRRORED:
            if attrs.get(name):
                problems.append(
                    f"{label} ({where}) sets `{name}`, which CMakeLists.txt does "
                    f"not mirror: extend ca_sources() in CMakeLists.txt and "
                    f"cmake/check_sources.py, or do without it.")
        entry = {field: [] for field in FIELDS}
        entry["TARGETS"] = sorted(targets)
        for field, attr in (("SRCS", "srcs"), ("HDRS", "hdrs")):
            for src in attrs.get(attr, []):
                if src.startswith("//"):
                    entry[field].append(file_path(src))
                else:
                    problems.append(f"{label} ({where}) lists {src} in `{attr}`; "
                                    "CMake can only build this repository's files.")
        entry["DEPS"] = sorted(short_label(d) for d in attrs.get("deps", [])
                               if not d.startswith("//"))
        entry["COPTS"] = list(attrs.get("copts", []))
        for opt in attrs.get("linkopts", []):
            m = VERSION_SCRIPT.match(opt)
            if m:
                pkg = label[2:].split(":", 1)[0]
                entry["LINKER_SCRIPT"] = [f"{pkg}/{m.group(1)}" if pkg else m.group(1)]
            else:
                entry["LINKOPTS"].append(opt)
        entry["location"] = where
        entries[label] = entry
    return entries, problems


def read_sources_cmake(path):
    text = re.sub(r"#[^\n]*", "", open(path).read())
    entries, problems = {}, []
    for m in re.finditer(r"\bca_sources\s*\((.*?)\)", text, re.S):
        words = m.group(1).split()
        if not words:
            continue
        label, entry, field = words[0], {f: [] for f in FIELDS}, None
        for word in words[1:]:
            if word in FIELDS:
                field = word
            elif field is None:
                problems.append(f"cmake/sources.cmake: ca_sources({label} ...): "
                                f"'{word}' comes before any of {', '.join(FIELDS)}")
            else:
                entry[field].append(word)
        if label in entries:
            problems.append(f"cmake/sources.cmake: ca_sources({label} ...) appears twice")
        entries[label] = entry
    return entries, problems


def format_entry(label, entry):
    lines = [f"ca_sources({label}"]
    for field in FIELDS:
        values = entry[field]
        if not values:
            continue
        if len(values) == 1 and field in ("TARGETS", "COPTS", "LINKOPTS", "LINKER_SCRIPT"):
            lines.append(f"  {field} {values[0]}")
        else:
            lines.append(f"  {field}")
            lines += [f"    {v}" for v in values]
    lines.append(")")
    return "\n".join(lines)


def compare(expected, actual):
    problems = []
    for label in sorted(expected):
        want = expected[label]
        if label not in actual:
            problems.append(
                f"{label} ({want['location']}) is built into "
                f"{', '.join(want['TARGETS'])} by Bazel but has no entry in "
                f"cmake/sources.cmake. Add:\n\n{format_entry(label, want)}\n")
            continue
        have = actual[label]
        for field in FIELDS:
            kind = "order matters" if field in ("COPTS", "LINKOPTS") else None
            missing = [v for v in want[field] if v not in have[field]]
            extra = [v for v in have[field] if v not in want[field]]
            for v in missing:
                problems.append(
                    f"cmake/sources.cmake: add {v} to {field} of "
                    f"ca_sources({label} ...) (Bazel: {want['location']}).")
            for v in extra:
                problems.append(
                    f"cmake/sources.cmake: remove {v} from {field} of "
                    f"ca_sources({label} ...); Bazel ({want['location']}) "
                    f"does not have it there.")
            if kind and not missing and not extra and want[field] != have[field]:
                problems.append(
                    f"cmake/sources.cmake: {field} of ca_sources({label} ...) must "
                    f"be in Bazel's order: {' '.join(want[field])}.")
    for label in sorted(set(actual) - set(expected)):
        problems.append(
            f"cmake/sources.cmake: remove ca_sources({label} ...): no rule of that "
            f"name is part of the host library or a plugin that CMake builds "
            f"(renamed or removed in Bazel? the query covers {HOST} and the "
            f"targets listed in cmake/BUILD).")
    return problems


def main():
    graph, sources = sys.argv[1], sys.argv[2]
    expected, problems = expected_entries(read_graph(graph))
    actual, parse_problems = read_sources_cmake(sources)
    problems += parse_problems + compare(expected, actual)
    if problems:
        print("The CMake build no longer mirrors the Bazel build.\n", file=sys.stderr)
        for p in problems:
            print("- " + p, file=sys.stderr)
        print("\nCMakeLists.txt reads its files from cmake/sources.cmake (one "
              "ca_sources() per Bazel rule); a new external dependency may also "
              "need a line in ca_resolve_dep() in CMakeLists.txt.", file=sys.stderr)
        return 1
    n_files = sum(len(e["SRCS"]) + len(e["HDRS"]) for e in expected.values())
    print(f"OK: cmake/sources.cmake mirrors {len(expected)} Bazel rules "
          f"({n_files} files).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
