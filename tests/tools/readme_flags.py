"""readme_flags.py README PROG... - the long flags the README gives each
program in its code (fenced blocks and inline spans): one "PROG --flag" line
each, a flag attributed to the program that starts its pipeline segment."""
import re, sys
progs = set(sys.argv[2:])
text = open(sys.argv[1]).read()
# code: fenced blocks and inline code spans
code = re.findall(r"```[a-z]*\n(.*?)```", text, re.S) + re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
seen = set()
for block in code:
    for line in block.split("\n"):
        line = re.sub(r"#.*$", "", line)
        for seg in re.split(r"\||;|&&|\$\(|\)", line):
            toks = seg.split()
            prog = None
            for t in toks:
                b = t.split("/")[-1]
                if prog is None and b in progs:
                    prog = b
                    continue
                if prog and re.match(r"^--[a-z][a-z0-9-]*", t):
                    seen.add((prog, re.match(r"^--[a-z][a-z0-9-]*", t).group(0)))
for p, f in sorted(seen):
    print(p, f)
