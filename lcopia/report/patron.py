"""The words of the patron page in English and Spanish.

Only the page's own wording is translated; names, services and the kinds of record come from
the library's inventory as written there, which the Spanish page says plainly.
"""

from __future__ import annotations

import datetime as dt

MESES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
         "septiembre", "octubre", "noviembre", "diciembre"]


def fecha(value: dt.date | None) -> str:
    """A date as a Spanish-speaking reader writes it: 30 de noviembre de 2026."""
    if value is None:
        return "sin fecha"
    return f"{value.day} de {MESES[value.month - 1]} de {value.year}"


PATRON_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Who receives your library records, and what you can do",
        "switch": "Leer en español", "as_of": "List as of", "policy_says": "Our policy",
        "approved": "approved", "says": "says",
        "illustrative": "Illustrative data. This list was produced from illustrative "
                        "inventory data.",
        "intro": "These are the companies the library has contracted that receive library "
                 "records about you. For each: what it receives and why, how long it is "
                 "kept, and its own privacy policy. Our policy requires each of them to keep "
                 "library records confidential.",
        "receives": "What it receives", "why": "Why", "kept": "How long it is kept",
        "policy": "Its privacy policy", "reviewed": "Last reviewed by the library",
        "not_reviewed": "Not yet reviewed", "review_due": "review due",
        "none_recorded": "None recorded", "no_policy": "Not on file: ask us",
        "days": "up to {n} days", "forever": "until deleted (no fixed limit)",
        "not_recorded": "not recorded",
        "no_vendors": "No contracted vendor has access to library records.",
        "web_title": "Where our website sends data",
        "web_intro": "When you use our website or catalog, your browser also sends data to "
                     "these organizations. The library has no contract with them, and is "
                     "deciding whether to remove them or to contract them and limit what "
                     "they receive:",
        "web_none": "Our website sends no data about you to other organizations that we "
                    "know of.",
        "can_do": "What you can do",
        "do_1": "Ask us which records we hold about you, and for a copy.",
        "do_2": "Ask us to correct a record, or to delete your reading history.",
        "do_3": "Use the library without an account for browsing, and a private window "
                "with tracking protection on our website.",
        "do_4": "Ask us about any vendor on this list, or to see its contract terms on "
                "confidentiality.",
        "ask": "Whom to ask", "data_note": "",
    },
    "es": {
        "title": "Quién recibe sus registros de la biblioteca y qué puede hacer usted",
        "switch": "Read in English", "as_of": "Lista al", "policy_says": "Nuestra política",
        "approved": "aprobada el", "says": "dice",
        "illustrative": "Datos ilustrativos. Esta lista se hizo con datos de inventario "
                        "ilustrativos.",
        "intro": "Estas son las empresas contratadas por la biblioteca que reciben registros "
                 "de la biblioteca sobre usted. Para cada una: qué recibe y para qué, "
                 "cuánto tiempo se guarda y su propia política de privacidad. Nuestra "
                 "política exige que cada una mantenga confidenciales los registros de la "
                 "biblioteca.",
        "receives": "Qué recibe", "why": "Para qué", "kept": "Cuánto tiempo se guarda",
        "policy": "Su política de privacidad", "reviewed": "Última revisión por la biblioteca",
        "not_reviewed": "Todavía sin revisar", "review_due": "revisión pendiente",
        "none_recorded": "Nada registrado", "no_policy": "No la tenemos: pregúntenos",
        "days": "hasta {n} días", "forever": "hasta que se borre (sin plazo fijo)",
        "not_recorded": "no registrado",
        "no_vendors": "Ninguna empresa contratada tiene acceso a los registros de la "
                      "biblioteca.",
        "web_title": "A dónde envía datos nuestro sitio web",
        "web_intro": "Cuando usted usa nuestro sitio web o catálogo, su navegador también "
                     "envía datos a estas organizaciones. La biblioteca no tiene contrato "
                     "con ellas y está decidiendo si quitarlas o contratarlas y limitar lo "
                     "que reciben:",
        "web_none": "Que sepamos, nuestro sitio web no envía datos sobre usted a otras "
                    "organizaciones.",
        "can_do": "Qué puede hacer usted",
        "do_1": "Preguntarnos qué registros tenemos sobre usted y pedir una copia.",
        "do_2": "Pedirnos que corrijamos un registro o que borremos su historial de "
                "lectura.",
        "do_3": "Usar la biblioteca sin cuenta para consultar, y una ventana privada con "
                "protección contra el rastreo en nuestro sitio web.",
        "do_4": "Preguntarnos por cualquier empresa de esta lista, o pedir ver las "
                "cláusulas de confidencialidad de su contrato.",
        "ask": "A quién preguntar",
        "data_note": "Los nombres de los servicios, de los tipos de registro y de los fines "
                     "aparecen tal como figuran en el inventario de la biblioteca, en inglés.",
    },
}
