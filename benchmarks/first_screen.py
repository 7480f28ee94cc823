"""Count what the first screens of built school reports rest on (the evidence rule of msoko.priorities).

Reads every ``*.html`` school report under a folder, takes its first screen (``<section
class="first-screen">``) and counts:

- concerns, strengths and actions, and how many of them name a group under the minimum
  (``n = …`` or «… участников» in the item's text; items naming no group are facts or unknown);
- contradictions: an indicator both among the strengths and the concerns; a table row whose arrow
  disagrees with the lists (a concern's indicator ▲, a strength's ▼); an arrow that names no
  comparator; an action that names no concern of the same screen (the new screens say «к пункту N» or
  «к объективности»; for older screens: the action's subject or indicator named in no concern and not
  an objectivity action while the box found something); an action listing more than three works; the
  objectivity box saying «работ… ВПР» for journal-mark findings (``--processed`` given: the school's
  flagged signs read from ``objectivity.parquet``).

    python benchmarks/first_screen.py /tmp/real/reports/2021/schools [--processed /tmp/real/processed]

Real sample, 2021, 90 school first screens, before → after the evidence rule:
concerns 231 → 190 (from n < 20: 78 → 0); strengths 111 → 68; actions 278 → 104 (from n < 20: 112 → 0,
n < 10: 65 → 0, n = 5: 12 → 0; a fact such as ШНОР, n = 1, is not a group); schools with an action
76 → 52; indicator both strength and concern 11 → 0; arrow against the lists 3 → 0; arrow naming no
comparator 174 → 0; action naming no concern of its screen 90 → 0; action listing > 3 works 17 → 0;
objectivity box calling journal-mark findings «работы ВПР» 15 → 0.
"""
from __future__ import annotations

import argparse
import html as html_mod
import json
import re
import sys
from pathlib import Path

MIN_N = 20
MARK_SIGNS = {"marks_far_below", "marks_higher", "marks_lower", "marks_far"}


def _text(fragment: str) -> str:
    return " ".join(html_mod.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _items(block: str) -> list[str]:
    return [_text(x) for x in re.findall(r"<li[^>]*>(.*?)</li>", block, re.S)]


def parse(page: str) -> dict | None:
    """The first screen of one page: concerns, strengths, objectivity sentence, actions, table rows."""
    i = page.find('<section class="first-screen">')
    if i < 0:
        return None
    s = page[i:page.find("</section>", i)]

    def box(cls: str) -> str:
        m = re.search(rf'<div class="fs-box {cls}">(.*?)</div>', s, re.S)
        return m.group(1) if m else ""

    obj = re.search(r'<p class="objectivity-status">(.*?)</p>', s, re.S)
    acts = re.search(r'<ol class="actions">(.*?)</ol>', s, re.S)
    table = re.search(r'<table class="msoko-table summary-table">(.*?)</table>', s, re.S)
    rows = []
    if table:
        for tr in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)[1:]:
            cells = re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
            if len(cells) >= 3:
                rows.append({"name": _text(cells[1]), "school": _text(cells[2])})
    return {"concerns": _items(box("concerns")), "strengths": _items(box("strengths")),
            "objectivity": _text(obj.group(1)) if obj else "", "actions": _items(acts.group(1)) if acts else [],
            "rows": rows}


def group_n(text: str) -> int | None:
    """The group an item rests on: the smallest «n = …» or «N участник…» in its text (None: none named)."""
    ns = [int(re.sub(r"\D", "", x)) for x in re.findall(r"n\s*=\s*(\d[\d\u202f\u00a0 ]*)", text)]
    ns += [int(re.sub(r"\D", "", x)) for x in re.findall(r"(\d[\d\u202f\u00a0]*)\s+участник", text)]
    return min(ns) if ns else None


def indicator_name(item: str) -> str:
    """«Качество по ВПР (доля «4» и «5»)» of a concern or strength (subject, grade and value left out)."""
    head = re.split(r" — |: ", item, maxsplit=1)[0]
    head = re.sub(r"^(Зона внимания \d+\.|\d+\.)\s*", "", head)
    # the breakdown in the last parentheses: «(Биология, 5 кл.)», «(по предметам: …)»
    head = re.sub(r"\s*\((?:[^()]*кл\.[^()]*|[А-ЯЁ][а-яё]+(?: [а-яё]+)*)\)$", "", head)
    return head.strip()


def _names_in(item: str) -> set[str]:
    words = set(re.findall(r"«([^«»]*(?:«[^«»]*»[^«»]*)*)»", item))
    subj = set(re.findall(r"\(([А-ЯЁ][а-яё]+(?: [а-яё]+)?)[,)]", item))
    subj |= set(re.findall(r"кл\. ([А-ЯЁ][а-яё]+(?: [а-яё]+)?)", item))
    return words | subj


def count(folder: Path, processed: Path | None = None) -> dict:
    flagged, rec_n = {}, {}
    if processed is not None and (processed / "recommendations.parquet").exists():
        import pandas as pd
        r = pd.read_parquet(processed / "recommendations.parquet")
        for sid, a, n in zip(r["school_id"].astype(str), r["action_ru"].astype(str), r["n"]):
            if n == n:  # the group a recommendation rests on, when its text does not name it
                rec_n.setdefault((sid, " ".join(a.split()).rstrip(".")[:80]), n)
    if processed is not None and (processed / "objectivity.parquet").exists():
        import pandas as pd
        o = pd.read_parquet(processed / "objectivity.parquet")
        o = o[o["flagged"].fillna(False).astype(bool) & o["school_id"].notna()
              & ~o["sign"].astype(str).str.startswith("objectivity_index")]
        for (y, sid), g in o.groupby(["year", "school_id"]):
            flagged[(int(y), str(sid))] = (set(g["sign"]), set(g["procedure"].astype(str)))
    c = dict(pages=0, concerns=0, strengths=0, actions=0, concerns_small=0, strengths_small=0, actions_small=0,
             actions_n_lt_10=0, actions_n_5=0, items_small=0, both_strength_and_concern=0, arrow_disagrees=0,
             arrow_without_comparator=0, action_without_concern=0, action_over_3_works=0,
             objectivity_wrong_words=0, schools_with_actions=0)
    examples: dict[str, list[str]] = {}

    def ex(key, text):
        examples.setdefault(key, [])
        if len(examples[key]) < 3:
            examples[key].append(text[:300])

    for f in sorted(folder.glob("*.html")):
        fs = parse(f.read_text(encoding="utf-8"))
        if fs is None:
            continue
        c["pages"] += 1
        year = re.search(r"(20\d\d)", str(f.parent))
        for part in ("concerns", "strengths", "actions"):
            c[part] += len(fs[part])
            for it in fs[part]:
                n = group_n(it)
                if n is None and part == "actions":
                    n = rec_n.get((f.stem, it.split(" Кому:")[0].rstrip(".")[:80]))
                if n is not None and 1 < n < MIN_N:  # n = 1: a fact about the institution, not a group
                    c[f"{part}_small"] += 1
                    c["items_small"] += 1
                    ex(f"{part}_small", f"{f.stem}: {it}")
                    if part == "actions" and n < 10:
                        c["actions_n_lt_10"] += 1
                    if part == "actions" and n == 5:
                        c["actions_n_5"] += 1
        c["schools_with_actions"] += bool(fs["actions"])
        cn = {indicator_name(x) for x in fs["concerns"]}
        sn = {indicator_name(x) for x in fs["strengths"]}
        both = cn & sn
        c["both_strength_and_concern"] += len(both)
        for b in both:
            ex("both_strength_and_concern", f"{f.stem}: {b}")
        overall_c = {indicator_name(x) for x in fs["concerns"] if not re.search(r"кл\.", x.split(" — ")[0])}
        for r in fs["rows"]:
            name = r["name"]
            arrows = re.findall(r"([▲▼])([^▲▼]*)", r["school"])
            for a, tail in arrows:
                if not re.search(r"муниципал|похожих|цел|факт", tail):
                    c["arrow_without_comparator"] += 1
                    ex("arrow_without_comparator", f"{f.stem}: {name} {r['school']}")
            down = any(a == "▼" for a, _ in arrows)
            up = any(a == "▲" for a, _ in arrows)
            if (any(name.startswith(s) or s.startswith(name) for s in sn) and down) or \
                    (any(name.startswith(s) or s.startswith(name) for s in overall_c) and up):
                c["arrow_disagrees"] += 1
                ex("arrow_disagrees", f"{f.stem}: {name} {r['school']}")
        box = fs["objectivity"]
        found = bool(box) and not re.search(r"не выявлено|не рассчитан", box)
        for a in fs["actions"]:
            why = a.split("Почему:", 1)[1] if "Почему:" in a else a
            works = len(re.findall(r"\d+ кл\.", a.split("Почему:")[0]))
            if works > 3 or len(re.findall(r"\d+ кл\.", why)) > 6:
                c["action_over_3_works"] += 1
                ex("action_over_3_works", f"{f.stem}: {a}")
            if re.search(r"к пункту \d+|зона внимания \d+", why, re.I):
                k = int(re.search(r"(\d+)", re.search(r"к пункту \d+|зона внимания \d+", why, re.I).group(0)).group(1))
                ok = 1 <= k <= len(fs["concerns"])
            elif re.search(r"к разделу «Объективность»|к объективности|см\. «Объективность»", why):
                ok = found
            else:
                objective = re.search(r"объективн|наблюдател|перепровер|отметок за четверть|отметки за четверть", a)
                names = _names_in(a.split("Уверенность:")[0])
                ok = (objective and found) or any(nm and any(nm in x for x in fs["concerns"]) for nm in names)
            if not ok:
                c["action_without_concern"] += 1
                ex("action_without_concern", f"{f.stem}: {a}")
        if found and year:
            signs, procs = flagged.get((int(year.group(1)), f.stem), (set(), set()))
            marks = bool(signs & MARK_SIGNS)
            oge = any("ОГЭ" in p for p in procs)
            says_vpr_works = bool(re.search(r"работ\w* ВПР", box))
            if (marks and says_vpr_works and "отметк" not in box) or (oge and "ОГЭ" not in box):
                c["objectivity_wrong_words"] += 1
                ex("objectivity_wrong_words", f"{f.stem}: {box}")
    return {"counts": c, "examples": examples}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--processed", type=Path)
    ap.add_argument("--examples", action="store_true")
    args = ap.parse_args()
    out = count(args.folder, args.processed)
    json.dump(out if args.examples else out["counts"], sys.stdout, ensure_ascii=False, indent=1)
    print()


if __name__ == "__main__":
    main()
