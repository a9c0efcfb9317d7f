"""Knights and Knaves (Xie et al., 2024): the stated name -> knight/knave assignment against the solution.

Reading rule: only the final conclusion counts. That is the text after the last "CONCLUSION" (the prompt asks
for that block), else after the last "final answer"/"in summary"-style marker, else (complete responses only)
the last paragraph that states a role. Inside it, each name's last statement decides; a sentence that is a
hypothesis ("if Oliver were a knave ...") states nothing, and a hedged one ("Evelyn could be either") leaves
the name unassigned; what an inhabitant said (quoted, or reported: "Mason says Elizabeth is a knight") is not
the model's claim. A name without a role there is missing, so the answer is wrong: roles are never filled in
from the reasoning before the conclusion.
"""

from __future__ import annotations

import re
from typing import Any

from graders.base import GradeRequest
from graders.registry import Grader, GraderConfigError, Judgement, StrictModel, register

ROLES = ("knight", "knave")
_SYNONYMS = {"knight": "knight", "truth-teller": "knight", "knave": "knave", "liar": "knave"}
_ROLE_WORD = r"(?:knights?|knaves?|truth[- ]tellers?|liars?)"
_OTHER = {"knight": "knave", "knave": "knight"}

_CONCLUSION = re.compile(r"\bconclusion\b", re.IGNORECASE)
_SUMMARY = re.compile(
    r"final answer|in summary|to summarize|summary:|answer\s*:|final assignment|identities\s*:", re.IGNORECASE
)
_HYPOTHESIS = re.compile(
    r"\b(?:if|suppose|supposing|assume|assuming|assumption|were|would|had|hypothetically)\b", re.IGNORECASE
)
# Said of a name in the same clause: its role is left open ("Evelyn could be either", "Evelyn: unknown").
_HEDGE_AFTER_NAME = (
    r"[^.;\n]{0,80}?\b(?:(?:could|might|may)\s+(?:also\s+)?be\s+"
    r"(?:either|both|an?\s+(?:knight|knave|liar|truth))|"
    r"possibly|perhaps|probably|maybe|unknown|undetermined|unclear|uncertain|ambiguous|"
    r"not\s+(?:entirely\s+|fully\s+|completely\s+|totally\s+|100%\s+)?(?:sure|certain|confident)|"
    r"can(?:not|'t)\s+be\s+(?:sure|certain)|"
    r"indeterminate|cannot be determined|can't be determined|not determined|"
    r"knight\s+or\s+(?:a\s+)?knave|knave\s+or\s+(?:a\s+)?knight)\b"
)
_CONDITION = re.compile(r"if|suppose|supposing|assume|assuming", re.IGNORECASE)
# Right after a role statement: it is the subject of a supposition ("Zoey is a knight would make ... true").
_SUPPOSED_AFTER = re.compile(
    r"[ \t]*(?:would|could|leads?[ \t]+to|led[ \t]+to|results?[ \t]+in|creates?|causes?|yields?|implies|makes?[ \t]+(?:his|her|their|the|it))\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(r""""[^"\n]*"|“[^”\n]*”|(?<!\w)'[^'\n]*'(?!\w)""")
# "All three inhabitants are knaves", "everyone is a knight", "all of them are knaves"
_EVERYONE = re.compile(
    r"\b(?:all|everyone|everybody|each)"
    r"(?:\s+(?:of\s+them|\w+\s+of\s+them|\w+\s+inhabitants|inhabitants|\w+))?(?:\s*\([^)]*\))?\s+"
    rf"(?:are|is)\s+(?:an?\s+)?(?P<role>{_ROLE_WORD})\b",
    re.IGNORECASE,
)
# Reported speech, to the end of its clause: "Henry says Elizabeth is not a knave (true)", "according to Mason, ..."
_REPORTED = re.compile(
    r"\b(?:says|said|claims|claimed|states|stated|asserts|asserted|remarks|remarked|notes|noted|"
    r"mentions|mentioned|"
    r"declares|declared|comments|commented|expresses|expressed|according\s+to\s+\w+)\b"
    r"[^(;.\n]*?(?=,\s*(?:so|therefore|hence|thus|which|making|meaning)\b|[(;.\n]|$)",
    re.IGNORECASE,
)
_PRONOUN_ROLE = re.compile(
    r"\b(?:he|she)\s+(?:is|must\s+be|was)\s+(?P<neg>not\s+)?(?:an?\s+)?"
    rf"(?P<role>{_ROLE_WORD})\b",
    re.IGNORECASE,
)
_REST = re.compile(
    r"\b(?:the\s+rest|the\s+others|all\s+(?:the\s+)?others|everyone\s+else|everybody\s+else|"
    r"the\s+remaining(?:\s+\w+)?)\s+(?:are|is)\s+(?:all\s+)?(?:an?\s+)?"
    rf"(?P<role>{_ROLE_WORD})\b",
    re.IGNORECASE,
)
REST = "*rest*"  # stands for every name the conclusion has not assigned yet


def _role(word: str) -> str:
    """knight/knave for a matched role word ("Knights", "truth tellers", "liar")."""
    return _SYNONYMS[re.sub(r"s$", "", word.lower()).replace(" ", "-")]


def _named(text: str, names: list[str]) -> list[tuple[int, str]]:
    """(position, name) of each of `names` mentioned in `text`."""
    return sorted(
        (hit.start(), name) for name in names for hit in re.finditer(rf"\b{re.escape(name)}\b", text)
    )


class KnightsKnavesGold(StrictModel):
    """Gold: name -> role, e.g. {"Zoey": "knave", "Oliver": "knight"} (booleans: True = knight)."""

    answer: dict[str, str | bool]


class KnightsKnavesOptions(StrictModel):
    pass


def gold_roles(answer: dict[str, Any]) -> dict[str, str]:
    if not answer:
        raise GraderConfigError("knights_knaves: gold must be a non-empty name -> role map")
    roles = {}
    for name, role in answer.items():
        if isinstance(role, bool):
            roles[name] = "knight" if role else "knave"
        elif isinstance(role, str) and role.strip().lower() in ROLES:
            roles[name] = role.strip().lower()
        else:
            raise GraderConfigError(
                f"knights_knaves: role for {name!r} must be knight/knave or a bool, got {role!r}"
            )
    return roles


def conclusion_region(text: str, allow_paragraph: bool, names: list[str]) -> str | None:
    """Where the final assignment is stated (see the module docstring), or None."""
    for marker in (_CONCLUSION, _SUMMARY):
        hits = list(marker.finditer(text))
        for hit in reversed(
            hits
        ):  # the last marker that is followed by roles ("this conclusion is consistent" is not)
            region = text[hit.end() :]
            if any(_statements(sentence, names) for sentence in _sentences(region)):
                return region
        if hits:
            return text[hits[-1].end() :]
    if not allow_paragraph:
        return None
    for paragraph in reversed(re.split(r"\n\s*\n", text)):
        if any(_statements(sentence, names) for sentence in _sentences(paragraph)):
            return paragraph
    return None


def _sentences(text: str) -> list[str]:
    """Lines, then sentences within a line ("(1) Zoey is a knave. (2) ...", "..., so Oliver is a knight.")."""
    out = []
    for line in text.splitlines():
        out += [part for part in re.split(r"(?<=[.!?;])\s+|(?<=\.)(?=\()", line) if part.strip()]
    return out


def _name_list(names: list[str]) -> str:
    one = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return rf"(?:{one})(?:\s*(?:,\s*(?:and\s+)?|\band\b\s*|&\s*)(?:{one}))*"


def _statements(sentence: str, names: list[str]) -> list[tuple[int, str, str | None]]:
    """(position, name, role) for each role a sentence states, in order; role None where it hedges. What
    follows a hypothesis marker in the sentence ("if Oliver were a knave, Zoey would be ...") states
    nothing."""
    plain = re.sub(r"[*_`]", "", sentence)
    # a JSON/dict answer ({"Mia": "knave", ...}) is the model's own claim, not a quotation: unquote its pairs
    one_name = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    plain = re.sub(
        rf"[\"'“”](?P<name>{one_name})[\"'“”]\s*:\s*[\"'“”](?P<role>{_ROLE_WORD})[\"'“”]",
        lambda pair: f" {pair.group('name')}: {pair.group('role')} ".ljust(len(pair.group(0))),
        plain,
        flags=re.IGNORECASE,
    )
    plain = _QUOTED.sub(
        lambda quote: " " * len(quote.group(0)), plain
    )  # what an inhabitant said, not a claim
    plain = _REPORTED.sub(
        lambda claim: " " * len(claim.group(0)), plain
    )  # "Mason says Elizabeth is a knight"
    hypothesis = _HYPOTHESIS.search(plain)
    whole = plain
    plain = plain[: hypothesis.start()] if hypothesis else plain
    conditioned = hypothesis is not None and _CONDITION.fullmatch(hypothesis.group(0)) is not None
    listed = _name_list(names)
    role_word = _ROLE_WORD
    found: list[tuple[int, str, str | None]] = []
    patterns = [
        # "Zoey is a knave", "Zoey: Knave", "Zoey - knight", "Zoey is not a knight", "Zoey is a liar (knave)"
        rf"\b(?P<names>{listed})[)\]]?\s*"
        r"(?:is|was|must\s+be|are|were|are\s+both|are\s+all|=|:|-|–|—|\(|\||->|=>|→|⇒)\s*"
        rf"(?:(?:definitely|clearly|certainly|indeed|also|too|both|all)\s+)?(?P<neg>not\s+)?(?:an?\s+|the\s+)?(?P<role>{role_word})\b",
        # "Knights: Evelyn", "The knaves are Penelope and David", "the knight is Evelyn"
        rf"\b(?P<role>{role_word})\s*(?:are|is|:|-|=)\s*(?P<neg>)(?P<names>{listed})",
        # "Zoey is a knave and Oliver a knight", "Oliver, a knight,"
        rf"\b(?P<names>{listed}),?\s+(?P<neg>)an?\s+(?P<role>{role_word})\b",
    ]
    for pattern in patterns:
        for match in re.finditer(pattern, plain, re.IGNORECASE):
            if _SUPPOSED_AFTER.match(whole, match.end()):
                continue  # "Ethan is a knight would lead to a contradiction": a supposition, not a claim
            role = _role(match.group("role"))
            if match.group("neg"):
                role = _OTHER[role]
            found += [
                (match.start("names") + position, name, role)
                for position, name in _named(match.group("names"), names)
            ]
    for match in re.finditer(
        rf"\b(?P<names>{listed})\s+is\s+the\s+only\s+(?P<role>{role_word})|\bonly\s+"
        rf"(?P<names2>{listed})\s+(?:is|are)\s+(?:an?\s+)?(?P<role2>{role_word})",
        plain,
        re.IGNORECASE,
    ):
        role = _role(match.group("role") or match.group("role2"))
        only = {name for _, name in _named(match.group("names") or match.group("names2"), names)}
        found += [(match.start(), name, role if name in only else _OTHER[role]) for name in names]
    one = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    for match in re.finditer(  # "Neither Zoey nor Oliver is a knight": both are the other role
        rf"\bneither\s+(?P<names>(?:{one})(?:\s*,\s*(?:{one}))*\s+nor\s+(?:{one}))\s+(?:is|are|was)\s+"
        rf"(?:an?\s+)?(?P<role>{role_word})\b",
        plain,
        re.IGNORECASE,
    ):
        role = _OTHER[_role(match.group("role"))]
        found += [(match.end(), name, role) for _, name in _named(match.group("names"), names)]  # over "Oliver is a knight"
    for match in re.finditer(rf"\b(?:so|as)\s+(?:is|are|was)\s+(?P<names>{listed})", plain, re.IGNORECASE):
        earlier = [statement for statement in found if statement[0] < match.start() and statement[2]]
        if earlier:  # "Sebastian is a knight, and so is Jack"
            role = max(earlier)[2]
            found += [
                (match.start("names") + position, name, role)
                for position, name in _named(match.group("names"), names)
            ]
    mentioned = {name for _, name in _named(plain, names)}
    pronoun = _PRONOUN_ROLE.search(plain)
    if pronoun and len(mentioned) == 1:  # "Oliver tells the truth, so he is a knight"
        role = _role(pronoun.group("role"))
        found.append((pronoun.start(), next(iter(mentioned)), _OTHER[role] if pronoun.group("neg") else role))
    rest = _REST.search(plain)
    if rest:  # "..., and the rest are knaves": every name not stated before it in the conclusion
        found.append((rest.start(), REST, _role(rest.group("role"))))
    collective = _EVERYONE.search(plain)
    if collective:
        role = _role(collective.group("role"))
        found += [(collective.start(), name, role) for name in names if name not in {f[1] for f in found}]
    for name in names if not conditioned else ():  # "Lily could be a knave if Mia lied": a condition, no hedge
        for hedge in re.finditer(rf"\b{re.escape(name)}\b{_HEDGE_AFTER_NAME}", plain, re.IGNORECASE):
            found.append((hedge.end(), name, None))  # after any role in the same clause: the hedge wins
    return sorted(found, key=lambda statement: statement[0])


def parse_roles(text: str, names: list[str], cut_off: bool = False) -> dict[str, str | None]:
    """name -> the role the final conclusion gives it (None: hedged there); unstated names are absent."""
    region = conclusion_region(text, allow_paragraph=not cut_off, names=names)
    if region is None:
        return {}
    roles: dict[str, str | None] = {}
    for sentence in _sentences(region):
        for _, name, role in _statements(sentence, names):
            if name == REST:
                roles.update({other: role for other in names if other not in roles})
            else:
                roles[name] = role
    return roles


def format_roles(roles: dict[str, str | None], names: list[str]) -> str:
    return "; ".join(f"{name}={roles[name] or 'undetermined'}" for name in names if name in roles)


def roles_from_formatted(text: str) -> dict[str, str]:
    pairs = [part.split("=", 1) for part in text.split(";") if "=" in part]
    return {name.strip(): role.strip() for name, role in pairs}


@register
class KnightsKnavesGrader(Grader):
    name = "knights_knaves"
    runs_inline = True
    Gold = KnightsKnavesGold
    Options = KnightsKnavesOptions

    def _is_gold_dict(self, raw: dict[str, Any]) -> bool:
        return set(raw) == {"answer"}  # any other dict is the name -> role map itself

    def _extract(self, response: str, gold: KnightsKnavesGold, cut_off: bool) -> str | None:
        names = list(gold_roles(gold.answer))  # which names to look for, never their roles
        return format_roles(parse_roles(response, names, cut_off), names) or None

    def extract(self, response: str, options: KnightsKnavesOptions, gold: KnightsKnavesGold) -> str | None:
        return self._extract(response, gold, cut_off=False)

    def extract_final(
        self, response: str, options: KnightsKnavesOptions, gold: KnightsKnavesGold
    ) -> str | None:
        return self._extract(response, gold, cut_off=True)

    def judge(
        self, extracted: str, gold: KnightsKnavesGold, options: KnightsKnavesOptions, request: GradeRequest
    ) -> Judgement:
        expected = gold_roles(gold.answer)
        got = roles_from_formatted(extracted)
        missing = [name for name in expected if got.get(name) not in ROLES]
        detail = f"no definite role stated for {missing}" if missing else ""
        return Judgement(correct=got == expected, detail=detail)

    def same_answer(self, a: str, b: str, options: KnightsKnavesOptions) -> bool:
        return roles_from_formatted(a) == roles_from_formatted(b)
