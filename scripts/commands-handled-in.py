#!/usr/bin/env python3
# Usage: python3 scripts/commands-handled-in.py .   (from the repository root)
"""Adds (or refreshes) a 'handled in' column in docs/commands.md: for each
command row, the session file whose function answers it, found from
src/proto/session/dispatch.rs (Command::Verb => self.cmd_x) and the file
defining cmd_x."""
import re, pathlib, sys
root = pathlib.Path(sys.argv[1])
sess = root / "src/proto/session"
disp = (sess / "dispatch.rs").read_text()
fn_file = {}
for f in sess.glob("*.rs"):
    if f.name.startswith("tests"):
        continue
    for m in re.finditer(r"fn (\w+)\s*[<(]", f.read_text()):
        fn_file.setdefault(m.group(1), f.name)
verb_fn = {}
for m in re.finditer(r"Command::(\w+)(?:\([^)]*\))?\s*=>\s*(?:\{\s*)?(self\.(\w+)|[^,\n]*)", disp):
    verb, call, fn = m.group(1), m.group(2), m.group(3)
    if verb in verb_fn:
        continue
    if fn and fn != "reply":
        verb_fn[verb.upper()] = fn_file.get(fn, "dispatch.rs")
    else:
        verb_fn[verb.upper()] = "dispatch.rs"
def where(cell):
    words = re.findall(r"[A-Z][A-Z0-9]+", cell)
    if not words:
        return None
    w = words[0]
    if w == "SITE":
        return "site.rs"
    if w == "OPTS":
        return fn_file.get("cmd_opts", "dispatch.rs")
    if w.startswith("X") and w[1:] in ("SHA256", "SHA1", "MD5", "CRC", "SHA512"):
        return verb_fn.get("XHASH")
    for cand in (w, w[1:] if w.startswith("X") else w):
        if cand in verb_fn:
            return verb_fn[cand]
    return None
doc = root / "docs/commands.md"
out = []
for line in doc.read_text().splitlines():
    if line.startswith("| command | standard |"):
        cells = [c.strip() for c in line.strip("|").split("|")]
        if "handled in" not in cells:
            cells.append("handled in")
        line = "| " + " | ".join(cells) + " |"
    elif re.match(r"\| -+ \|", line):
        n = line.count("|") - 1
        line = line  # fixed below
    elif line.startswith("| ") and not line.startswith("| command"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        w = where(cells[0])
        if w is not None:
            val = f"`session/{w}`"
            if len(cells) >= 5:
                cells[4] = val
            else:
                cells.append(val)
            line = "| " + " | ".join(cells) + " |"
    out.append(line)
# separator rows: match the header's column count
fixed = []
for i, line in enumerate(out):
    if re.match(r"\| -+ \|", line) and i > 0 and out[i-1].startswith("| command"):
        n = out[i-1].count("|") - 1
        line = "| " + " | ".join(["---"] * n) + " |"
    fixed.append(line)
doc.write_text("\n".join(fixed) + "\n")
missing = [l.split("|")[1].strip() for l in fixed if l.startswith("| ") and l.count("|") == 5 and not l.startswith("| command") and "---" not in l]
print("rows without a file:", missing)
