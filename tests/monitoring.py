#!/usr/bin/env python3
"""The PromQL of the shipped monitoring files against the daemons' series.

Used by tests/check-monitoring (make check) and tests/lab/check-prometheus.

    monitoring.py exported SRCDIR
        every metric name the daemons export, one a line: the families[]
        table of daemon/metrics-render.c and wanpair_build_info, read from
        the code itself so that the list cannot lag behind it (the lab's
        check-prometheus compares it with what a real Prometheus scraped)
    monitoring.py exprs-rules SRCDIR OUT
        every PromQL expression of etc/prometheus/wanpair-rules.yml and
        etc/grafana/wanpair.json (Grafana variables replaced) as recording
        rules in OUT, for `promtool check rules` to parse
    monitoring.py names SRCDIR [EXPR...]
        the metric names each expression uses (those of the two files
        without EXPR); exit 1 naming any the daemons do not export, or an
        expression in which no name is found
    monitoring.py coverage SRCDIR
        exit 1 unless wanpair-rules.test.yml has, for every alert of
        wanpair-rules.yml, a case where it fires and one where it does not

Needs python3-yaml.
"""
import json
import os
import re
import sys

import yaml

RULES = "etc/prometheus/wanpair-rules.yml"
RULES_TEST = "etc/prometheus/wanpair-rules.test.yml"
DASHBOARD = "etc/grafana/wanpair.json"
RENDER = "daemon/metrics-render.c"


def exported(srcdir):
    text = open(os.path.join(srcdir, RENDER)).read()
    body = text[text.index("families[] = {"):]
    body = body[:body.index("\n};")]
    # {"name", "gauge"|"counter", ...: the first two fields of each entry
    names = re.findall(r'\{\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)",\s*"(?:gauge|counter)"',
                       body)
    # the one family rendered outside the table
    names += re.findall(r'# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) ', text)
    if len(names) < 10 or len(set(names)) != len(names):
        sys.exit("%s: cannot read the families table (%d names)" %
                 (RENDER, len(names)))
    return set(names)


def rule_exprs(srcdir):
    doc = yaml.safe_load(open(os.path.join(srcdir, RULES)))
    for g in doc["groups"]:
        for r in g["rules"]:
            yield "%s %s" % (RULES, r.get("alert") or r.get("record")), \
                r["expr"]


# Grafana's own variables, and the dashboard's: what each stands for in a
# query Prometheus would get.  Any other $variable is an error.
GRAFANA_VARS = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
    "instance": ".*",
}


def grafana_to_promql(expr):
    def sub(m):
        name = m.group(1) or m.group(2)
        if name not in GRAFANA_VARS:
            raise ValueError("unknown variable $%s in %s" % (name, expr))
        return GRAFANA_VARS[name]
    return re.sub(r'\$\{(\w+)(?::\w+)?\}|\$(\w+)', sub, expr)


def dashboard_exprs(srcdir):
    d = json.load(open(os.path.join(srcdir, DASHBOARD)))

    def panels(ps):
        for p in ps:
            yield p
            yield from panels(p.get("panels", []))
    for p in panels(d["panels"]):
        for t in p.get("targets", []):
            yield "%s panel \"%s\" %s" % (DASHBOARD, p["title"],
                                          t["refId"]), \
                grafana_to_promql(t["expr"])
    for v in d["templating"]["list"]:
        if v["type"] != "query":
            continue
        q = v["query"]["query"] if isinstance(v["query"], dict) \
            else v["query"]
        # label_values(SELECTOR, label): the selector is PromQL
        m = re.fullmatch(r'\s*label_values\((.*),\s*\w+\)\s*', q)
        if not m:
            raise ValueError("variable %s: not label_values(selector, "
                             "label): %s" % (v["name"], q))
        yield "%s variable %s" % (DASHBOARD, v["name"]), \
            grafana_to_promql(m.group(1))


def all_exprs(srcdir):
    return list(rule_exprs(srcdir)) + list(dashboard_exprs(srcdir))


KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on",
            "ignoring", "group_left", "group_right", "inf", "nan", "atan2"}


def metric_names(expr):
    """The metric names in a PromQL expression (promtool has parsed it).

    Strings, label matchers, grouping label lists and range or subquery
    brackets are cut out first; what is left that is an identifier not
    followed by "(" (a function or aggregation) nor a keyword is a metric
    name.  A name only inside {__name__="..."} is not seen: the caller
    requires at least one name per expression."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    s = re.sub(r'\{[^}]*\}', ' ', s)
    s = re.sub(r'\b(by|without|on|ignoring|group_left|group_right)\s*'
               r'\([^)]*\)', ' ', s)
    s = re.sub(r'\[[^\]]*\]', ' ', s)
    s = re.sub(r'\boffset\s+-?[0-9a-z]+', ' ', s)
    names = set()
    for m in re.finditer(r'[a-zA-Z_:][a-zA-Z0-9_:]*', s):
        word, rest = m.group(0), s[m.end():]
        if word.lower() in KEYWORDS or rest.lstrip().startswith("("):
            continue
        # a number's exponent or a duration: 1e3, 5m
        if m.start() > 0 and (s[m.start() - 1].isdigit() or
                              s[m.start() - 1] == "."):
            continue
        names.add(word)
    return names


def cmd_names(srcdir, exprs):
    known = exported(srcdir)
    bad = 0
    for where, e in exprs:
        used = metric_names(e)
        unknown = sorted(used - known)
        if not used:
            print("%s: no metric name found in %s" % (where, e))
            bad += 1
        elif unknown:
            print("%s: not exported by the daemons: %s" %
                  (where, ", ".join(unknown)))
            bad += 1
    return bad


def cmd_coverage(srcdir):
    rules = yaml.safe_load(open(os.path.join(srcdir, RULES)))
    tests = yaml.safe_load(open(os.path.join(srcdir, RULES_TEST)))
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]
              if "alert" in r}
    fires, quiet = set(), set()
    for t in tests["tests"]:
        for a in t.get("alert_rule_test", []):
            (fires if a.get("exp_alerts") else quiet).add(a["alertname"])
    bad = 0
    for a in sorted(alerts):
        for what, seen in (("fires", fires), ("does not fire", quiet)):
            if a not in seen:
                print("%s: no test case where %s %s" % (RULES_TEST, a, what))
                bad += 1
    for a in sorted((fires | quiet) - alerts):
        print("%s: tests %s, which %s does not have" % (RULES_TEST, a, RULES))
        bad += 1
    if not bad:
        print("%d alerts, each firing and not" % len(alerts))
    return bad


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    cmd, srcdir = argv[1], argv[2]
    if cmd == "exported":
        print("\n".join(sorted(exported(srcdir))))
    elif cmd == "exprs-rules":
        exprs = all_exprs(srcdir)
        rules = [{"record": "wanpair_check:expr_%d" % i, "expr": e}
                 for i, (_, e) in enumerate(exprs)]
        # JSON is YAML: what promtool reads
        json.dump({"groups": [{"name": "expressions", "rules": rules}]},
                  open(argv[3], "w"), indent=1)
        for i, (where, _) in enumerate(exprs):
            print("wanpair_check:expr_%d %s" % (i, where))
    elif cmd == "names":
        exprs = [("argument", e) for e in argv[3:]] or all_exprs(srcdir)
        bad = cmd_names(srcdir, exprs)
        if not bad:
            print("%d expressions, names all exported" % len(exprs))
        return 1 if bad else 0
    elif cmd == "coverage":
        return 1 if cmd_coverage(srcdir) else 0
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
