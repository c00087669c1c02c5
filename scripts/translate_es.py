"""Fill locale/es/LC_MESSAGES/django.po from the table below (run after makemessages).

Usage: python scripts/translate_es.py && python manage.py compilemessages -l es
The compiled .mo is committed, so a machine without gettext still speaks Spanish.
"""

from __future__ import annotations

import re
from pathlib import Path

PO = Path(__file__).resolve().parents[1] / "locale" / "es" / "LC_MESSAGES" / "django.po"

ES = {
    "Reason for the correction": "Motivo de la corrección",
    "Kept in the audit history, e.g. 'paper form re-checked: section 4 was 2'.":
        "Se guarda en el historial de auditoría, p. ej. 'formulario en papel revisado: "
        "la sección 4 era 2'.",
    "The correction is saved, with its reason.": "La corrección se ha guardado, con su motivo.",
    "A whole number from %(low)s to %(high)s.": "Un número entero de %(low)s a %(high)s.",
    "We could not save your answers just now. They are still on this page: please try again "
    "in a moment.": "No hemos podido guardar sus respuestas en este momento. Siguen en esta "
    "página: vuelva a intentarlo dentro de un momento.",
    "Skip to content": "Ir al contenido",
    "Admin": "Administración",
    "Log out": "Cerrar sesión",
    "Log in": "Iniciar sesión",
    "Hello,": "Hola:",
    "It is time for your %(timepoint)s questionnaire for %(clinic)s.":
        "Ha llegado el momento de su cuestionario de %(timepoint)s para %(clinic)s.",
    "This is a reminder about your %(timepoint)s questionnaire for %(clinic)s.":
        "Le recordamos su cuestionario de %(timepoint)s para %(clinic)s.",
    "The link is personal: please do not share it. It takes about 10 minutes; you can stop "
    "and come back.": "El enlace es personal: no lo comparta. Se tarda unos 10 minutos; puede "
    "parar y continuar más tarde.",
    "Questions? Contact %(contact)s.": "¿Preguntas? Contacte con %(contact)s.",
    "%(clinic)s: your %(timepoint)s questionnaire is open until %(close_date)s.":
        "%(clinic)s: su cuestionario de %(timepoint)s está abierto hasta el %(close_date)s.",
    "Last reminder: your %(timepoint)s questionnaire":
        "Último recordatorio: su cuestionario de %(timepoint)s",
    "Your %(timepoint)s questionnaire is ready": "Su cuestionario de %(timepoint)s está listo",
    "Reminder: your %(timepoint)s questionnaire": "Recordatorio: su cuestionario de %(timepoint)s",
    "Language": "Idioma",
    "Change": "Cambiar",
    "Thank you": "Gracias",
    "Your answers have been received. There is nothing more to do for now.":
        "Hemos recibido sus respuestas. No tiene que hacer nada más por ahora.",
    "If you have questions, please contact": "Si tiene preguntas, contacte con",
    "This link is not active": "Este enlace no está activo",
    "The questionnaire behind this link cannot be opened now. The link may have expired, or "
    "a newer one may have been sent to you.": "El cuestionario de este enlace no se puede "
    "abrir ahora. Puede que el enlace haya caducado o que se le haya enviado uno más reciente.",
    "Please contact": "Contacte con",
    ", and we will help you.": " y le ayudaremos.",
    "Answers saved": "Respuestas guardadas",
    "Your answers are saved": "Sus respuestas se han guardado",
    "You can close this page. Open the same link again before %(close)s to carry on where you "
    "stopped.": "Puede cerrar esta página. Abra el mismo enlace antes del %(close)s para "
    "continuar donde lo dejó.",
    "Carry on now": "Continuar ahora",
    "Questionnaire": "Cuestionario",
    # The default schedule's first time point, as a patient reads it ("su cuestionario de
    # inicio del estudio"; outcomes/followups/labels.py).
    "Baseline": "Inicio del estudio",
    "Questionnaire %(n)s of %(total)s": "Cuestionario %(n)s de %(total)s",
    "Progress": "Progreso",
    "This questionnaire is only available in English: no official translation is licensed for "
    "this site yet.": "Este cuestionario solo está disponible en inglés: todavía no hay una "
    "traducción oficial con licencia para este sitio.",
    "Please check your answers": "Revise sus respuestas",
    "Submit my answers": "Enviar mis respuestas",
    "Next": "Siguiente",
    "Save and finish later": "Guardar y terminar más tarde",
    "Back": "Atrás",
    # Staff: voiding a response.
    "Reason for voiding": "Motivo de la anulación",
    "Kept in the audit history, e.g. 'entered for the wrong patient'.":
        "Se guarda en el historial de auditoría, p. ej. 'introducida para el paciente "
        "equivocado'.",
    "Say why the response is voided.": "Indique por qué se anula la respuesta.",
    "Say why the answers are corrected.": "Indique por qué se corrigen las respuestas.",
    "cannot be scored: %(reason)s": "no se puede puntuar: %(reason)s",
    "The response is voided, with its reason.": "La respuesta se ha anulado, con su motivo.",
    # The patient's questionnaire: first page, errors, skipping, the EQ VAS, contact.
    "choose an answer": "elija una respuesta",
    # The live region of questions asked on a condition (templates/survey/step.html). A
    # template's percent sign is doubled in the msgid, and {% translate %} looks up the
    # doubled one: "%%s" here, or the page stays in English.
    "Question %%s now applies: it is shown.": "La pregunta %%s ahora corresponde: se muestra.",
    "Question %%s no longer applies: it is hidden and its answer cleared.":
        "La pregunta %%s ya no corresponde: se oculta y se borra su respuesta.",
    "choose a number from %(low)d to %(high)d": "elija un número del %(low)d al %(high)d",
    "set the scale, or type a number from %(low)d to %(high)d":
        "mueva la escala o escriba un número del %(low)d al %(high)d",
    "%(questionnaire)s: %(question)s — %(problem)s":
        "%(questionnaire)s: %(question)s — %(problem)s",
    "choose one of the answers shown": "elija una de las respuestas que se muestran",
    "choose one of the numbers shown": "elija uno de los números que se muestran",
    "Your answer, from %(low)d to %(high)d": "Su respuesta, del %(low)d al %(high)d",
    "type a whole number from %(low)d to %(high)d":
        "escriba un número entero del %(low)d al %(high)d",
    "Skip this question": "Omitir esta pregunta",
    "check this answer": "revise esta respuesta",
    "%(page)s, %(questionnaire)s: not answered yet":
        "%(page)s, %(questionnaire)s: aún sin responder",
    "%(page)s, %(message)s": "%(page)s, %(message)s",
    "Some answers could not be checked. Please look through each questionnaire, then submit "
    "again.": "No se han podido comprobar algunas respuestas. Revise cada cuestionario y "
    "vuelva a enviarlas.",
    "This was the last questionnaire of the study. Thank you for taking part.":
        "Este era el último cuestionario del estudio. Gracias por participar.",
    "Your next questionnaires are open already: we will send you a link.":
        "Sus próximos cuestionarios ya están abiertos: le enviaremos un enlace.",
    "Your next questionnaires: around %(next_date)s; we will send you a link.":
        "Sus próximos cuestionarios: hacia el %(next_date)s; le enviaremos un enlace.",
    "Too many links that do not work were opened from this connection. Please wait a few "
    "minutes.": "Se han abierto demasiados enlaces que no funcionan desde esta conexión. "
    "Espere unos minutos.",
    "This page cannot tell which study the link belongs to. Please contact the clinic or the "
    "team that asked you to take part: they can send you a new link.":
        "Esta página no puede saber a qué estudio pertenece el enlace. Contacte con la "
        "clínica o con el equipo que le pidió participar: pueden enviarle un enlace nuevo.",
    "Your questionnaires are paused": "Sus cuestionarios están en pausa",
    "The study team has paused your questionnaires: there is nothing to answer for now.":
        "El equipo del estudio ha puesto en pausa sus cuestionarios: por ahora no tiene nada "
        "que responder.",
    "If you want to continue, contact": "Si quiere continuar, contacte con",
    "If you want to continue, contact the clinic or the team that asked you to take part.":
        "Si quiere continuar, contacte con la clínica o con el equipo que le pidió participar.",
    "Questions? Contact": "¿Preguntas? Contacte con",
    "Your questionnaires": "Sus cuestionarios",
    "Your questionnaires: %(timepoint)s": "Sus cuestionarios: %(timepoint)s",
    "You can stop at any time with “Save and finish later”, and open the same link again "
    "before %(close_date)s to carry on where you stopped.":
        "Puede parar en cualquier momento con «Guardar y terminar más tarde» y abrir el mismo "
        "enlace antes del %(close_date)s para continuar donde lo dejó.",
    "Some questionnaires are only available in English: no official translation is licensed "
    "for this site yet.": "Algunos cuestionarios solo están disponibles en inglés: todavía "
    "no hay una traducción oficial con licencia para este sitio.",
    "Start": "Empezar",
    "Error:": "Error:",
    "Not set yet": "Aún sin marcar",
    "the study team": "el equipo del estudio",
    # Staff: a correction or void that another user made first.
    "changed": "modificada",
    "This response was already %(state)s, so nothing more was changed. Its history is on "
    "the patient's outcomes page.": "Esta respuesta ya estaba %(state)s, así que no se ha "
    "cambiado nada más. Su historial está en la página de resultados del paciente.",
    # The pages anyone may meet, staff or patient: errors, the landing page, logging in.
    "Not allowed": "No permitido",
    "Your role does not include this page or action. If you need it, ask the study's data "
    "manager or administrator.": "Su función no incluye esta página ni esta acción. Si la "
    "necesita, pídala al gestor de datos o al administrador del estudio.",
    "Not found": "No encontrada",
    "Page not found": "Página no encontrada",
    "There is nothing here, or nothing you may see. Check the address, or go back to "
    "<a href=\"%(home_url)s\">your studies</a>.": "Aquí no hay nada, o nada que usted pueda "
    "ver. Compruebe la dirección o vuelva a <a href=\"%(home_url)s\">sus estudios</a>.",
    "Something went wrong": "Algo ha fallado",
    "Something went wrong on our side": "Algo ha fallado por nuestra parte",
    "Nothing you entered is lost: answers are saved as you go. Please try again in a few "
    "minutes. If it happens again, contact the clinic that invited you.": "No se ha perdido "
    "nada de lo que escribió: las respuestas se guardan a medida que avanza. Vuelva a "
    "intentarlo dentro de unos minutos. Si vuelve a ocurrir, contacte con la clínica que le "
    "invitó.",
    "Menu": "Menú",
    "Signed in as": "Sesión iniciada como",
    "Patient-reported outcomes for clinical outcome studies.":
        "Resultados comunicados por los pacientes para estudios clínicos de resultados.",
    "Your study asks for a second factor. <a class=\"btn btn-primary\" "
    "href=\"%(two_factor_url)s\">Confirm your one-time code</a> to see your studies.":
        "Su estudio pide un segundo factor. <a class=\"btn btn-primary\" "
        "href=\"%(two_factor_url)s\">Confirme su código de un solo uso</a> para ver sus "
        "estudios.",
    "Studies": "Estudios",
    "Code": "Código",
    "Title": "Título",
    "Arms": "Grupos",
    "Patients": "Pacientes",
    "Open": "Abrir",
    "Worklists": "Listas de trabajo",
    "No study yet. A data manager sets one up in the admin, or run <code>python manage.py "
    "load_demo</code>.": "Todavía no hay ningún estudio. Un gestor de datos lo crea en la "
    "administración, o ejecute <code>python manage.py load_demo</code>.",
    "<a class=\"btn btn-primary\" href=\"%(login_url)s\">Log in</a> to see your studies.":
        "<a class=\"btn btn-primary\" href=\"%(login_url)s\">Inicie sesión</a> para ver sus "
        "estudios.",
    "Patients: please use the private link from your invitation; no account is needed.":
        "Pacientes: usen el enlace privado de su invitación; no necesitan ninguna cuenta.",
    "Change your password": "Cambie su contraseña",
    "Enter your current password, then the new one twice.":
        "Escriba su contraseña actual y después la nueva dos veces.",
    "Change my password": "Cambiar mi contraseña",
    "Password changed": "Contraseña cambiada",
    "Use your new password from now on.": "A partir de ahora, use su nueva contraseña.",
    "Back to your studies": "Volver a sus estudios",
}
PLURALS = {
    # A time point named by its distance from the index date (outcomes/followups/labels.py).
    "%(n)d day": ("%(n)d día", "%(n)d días"),
    "%(n)d week": ("%(n)d semana", "%(n)d semanas"),
    "%(n)d month": ("%(n)d mes", "%(n)d meses"),
    "%(n)d year": ("%(n)d año", "%(n)d años"),
    "choose an answer: at most %(allowed)d of the %(total)d questions may be left blank, and "
    "%(blank)d are": (
        "elija una respuesta: como máximo se puede dejar en blanco %(allowed)d de las "
        "%(total)d preguntas, y hay %(blank)d en blanco",
        "elija una respuesta: como máximo se pueden dejar en blanco %(allowed)d de las "
        "%(total)d preguntas, y hay %(blank)d en blanco"),
    "There is %(n)s questionnaire to answer.": (
        "Tiene que responder %(n)s cuestionario.",
        "Tiene que responder %(n)s cuestionarios, uno tras otro."),
    "It takes about %(n)s minute (%(items)s questions).": (
        "Se tarda aproximadamente %(n)s minuto (%(items)s preguntas).",
        "Se tarda unos %(n)s minutos (%(items)s preguntas)."),
    "You can answer until %(close_date)s (1 day left).": (
        "Puede responder hasta el %(close_date)s (queda 1 día).",
        "Puede responder hasta el %(close_date)s (quedan %(days)s días)."),
}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> None:
    text = PO.read_text(encoding="utf-8")
    entry = re.compile(
        r'(msgid ((?:"(?:[^"\\]|\\.)*"\n)+))(msgid_plural (?:"(?:[^"\\]|\\.)*"\n)+)?'
        r'((?:msgstr(?:\[\d\])? (?:"(?:[^"\\]|\\.)*"\n)+)+)'
    )
    missing = []

    def fill(match: re.Match) -> str:
        msgid = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', match.group(2)))
        msgid = msgid.replace('\\"', '"')
        if not msgid:
            return match.group(0)
        if match.group(3):
            forms = PLURALS.get(msgid)
            if forms is None:
                missing.append(msgid)
                return match.group(0)
            return (match.group(1) + match.group(3)
                    + f"msgstr[0] {_quote(forms[0])}\nmsgstr[1] {_quote(forms[1])}\n"
                    # CLDR Spanish has a third form (millions); it reads as the plural.
                    + f"msgstr[2] {_quote(forms[1])}\n")
        if msgid not in ES:
            missing.append(msgid)
            return match.group(0)
        return match.group(1) + f"msgstr {_quote(ES[msgid])}\n"

    # msgmerge marks near matches fuzzy (compilemessages would skip them) and keeps their
    # previous msgid: every entry is filled from the tables above, so drop both.
    text = re.sub(r"^#\| .*\n", "", text, flags=re.M)
    text = re.sub(r"^#, fuzzy\n", "", text, flags=re.M)
    text = re.sub(r"^#, fuzzy, ", "#, ", text, flags=re.M)
    text = entry.sub(fill, text)
    text = text.replace('"Language: \\n"', '"Language: es\\n"')
    PO.write_text(text, encoding="utf-8")
    if missing:
        raise SystemExit("untranslated: " + " | ".join(missing))


if __name__ == "__main__":
    main()
