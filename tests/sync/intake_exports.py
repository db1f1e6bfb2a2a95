"""FHIR R4 exports shaped like a PROM platform's (GemsTracker's gems-fhir-api, HAPI searches).

GemsTracker names a QuestionnaireResponse by its token (`id`), sets `authored` to the
completion time, points `subject.reference` at `fhir/patient/<nr>@<org>` and writes
`answer` as one object; a search with `_include=QuestionnaireResponse:subject` adds the
Patient entries (`search.mode: include`). A transaction Bundle uses `urn:uuid:` fullUrls.
"""

from __future__ import annotations

import json
from pathlib import Path

from serverproc import ServerProcess

BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"


def patient(number: str, bsn: str, birth_date: str) -> dict:
    return {"resourceType": "Patient", "id": f"{number}@70", "active": True,
            "identifier": [{"system": "http://gemstracker.org/fhir/patient-nr", "value": number},
                           {"system": BSN_SYSTEM, "value": bsn}],
            "name": [{"family": "Jansen", "given": ["Jan"]}], "gender": "female", "birthDate": birth_date}


def answer(value) -> dict:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, float):
        return {"valueDecimal": value}
    if isinstance(value, tuple):  # (code, display)
        return {"valueCoding": {"code": value[0], "display": value[1], "system": None}}
    return {"valueString": value}


def response(token: str, subject: dict, authored: str, answers: dict, status: str = "completed",
             grouped: bool = True, gems_answer: bool = True) -> dict:
    """`answers` {linkId: value}; with `grouped` the BCTQ items sit in a group (item[].item[])."""
    def item(link_id, value):
        given = answer(value)
        return {"linkId": link_id, "text": f"vraag {link_id}", "answer": given if gems_answer else [given]}

    top = [item(k, v) for k, v in answers.items() if not (grouped and k.startswith("bctq"))]
    group = [item(k, v) for k, v in answers.items() if grouped and k.startswith("bctq")]
    if group:
        top.append({"linkId": "bctq", "text": "Boston Carpal Tunnel Questionnaire", "item": group})
    return {"resourceType": "QuestionnaireResponse", "id": token, "status": status, "authored": authored,
            "questionnaire": "Questionnaire/intake-hand", "subject": subject,
            "source": {"reference": "fhir/organization/70"}, "item": top}


def gems_reference(number: str) -> dict:
    return {"id": f"{number}@70", "reference": f"fhir/patient/{number}@70", "display": "Jan Jansen"}


def searchset(*entries: tuple[str, dict]) -> dict:
    """entries: ("match" | "include", resource)."""
    return {"resourceType": "Bundle", "type": "searchset", "total": sum(mode == "match" for mode, _ in entries),
            "entry": [{"fullUrl": f"https://prom.example/fhir/{r['resourceType']}/{r['id']}", "resource": r,
                       "search": {"mode": mode}} for mode, r in entries]}


def write(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def bctq(prefix: str, values: list[int]) -> dict:
    return {f"{prefix}{n}": value for n, value in enumerate(values, start=1)}


def serving(folder: Path, document: dict, *serve_args: str) -> ServerProcess:
    """The real server on SQLite with `document` imported by the real `import-intake`, started
    (the server's own tests cover PostgreSQL; a device's half is the same against either)."""
    process = ServerProcess(f"sqlite:///{folder / 'server.sqlite3'}", folder, "sqlite", serve_args, bundles=False)
    process.admin("import-intake", str(write(folder / "intake.json", document)))
    return process.start()
