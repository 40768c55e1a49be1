"""Confirm (the fetched pré-demande: is it yours, or your child's?) and Questions (one per page).

One question per page, rather than a column of questions to scroll: at
800x480 a question, the line that explains it and its answers fill the
screen; nothing waits below the fold, a person reading slowly or with a
screen magnifier sees all there is, and "Question 2 sur 4" says how far
they are. The answers are big buttons (:mod:`kiosk.ui.screens.questions`
lists them); a button's look and its tick mirror the answer the session
recorded, and "Continuer" goes on (:meth:`Session.next_question`). Back
returns to the previous question with its answer still ticked.
"""

from __future__ import annotations

from kivy.properties import NumericProperty, StringProperty
from kivy.utils import escape_markup

from kiosk.ui.screens.base import KioskScreen
from kiosk.core.interview import CHOICES, prompt_key
from kiosk.ui.screens.questions import COLUMNS, is_selected
from kiosk.ui.screens.theme import hex_of
from kiosk.ui.screens.widgets import BodyLabel, ChoiceButton


class ConfirmScreen(KioskScreen):
    confirm_text = StringProperty("")

    def on_page(self, session) -> None:
        self._fill_predemande(session)
        self.confirm_text = self.t.worded("confirm.ok", session.audience)
        self.ids.scroll.scroll_y = 1
        self.on_session(session)

    def on_session(self, session) -> None:
        self.show_message(self.ids.message)

    def forget(self) -> None:
        self.ids.predemande.clear_widgets()

    def _fill_predemande(self, session) -> None:
        t = self.t
        pd = session.predemande
        box = self.ids.predemande
        box.clear_widgets()
        if pd is None:
            return
        age = session.applicant_age
        p = pd.person
        born = p.birth_date.strftime("%d/%m/%Y")
        birth = t("confirm.birth_value", date=born, place=p.birth_place) if p.birth_place else born
        titles = " + ".join(t(f"title.{x.value}") for x in sorted(pd.titles))
        fields = [
            (t.worded("confirm.person", session.audience), f"{p.surname} {p.given_names}".strip()),
            (t("confirm.birth"), birth),
            (t("confirm.age"), t("confirm.minor" if session.applicant_minor else "confirm.adult_age", age=age)),
            (t("confirm.titles"), titles),
            (t("confirm.motif"), t(f"motif.{pd.motif.value}")),
            (t("confirm.number"), pd.number),
        ]
        # Made again when the text size or the palette changes (the app words the page again).
        tu, muted = self.kiosk_app.tu, hex_of(self.kiosk_app.theme.MUTED)
        for name, value in fields:
            # "Motif  Perte": each field's name in grey, its value in bold.
            text = f"[color={muted}]{escape_markup(name)}[/color]   [b]{escape_markup(value)}[/b]"
            box.add_widget(BodyLabel(text=text, markup=True, font_size=tu * 21))


class QuestionsScreen(KioskScreen):
    """The question of the session's page: its wording, what it is for, its answers, and where we are."""

    progress = StringProperty("")
    prompt = StringProperty("")
    detail = StringProperty("")
    notice = StringProperty("")
    #: Columns of answers at the usual text size (one when the text is enlarged: questions.COLUMNS).
    columns = NumericProperty(1)

    def __init__(self, kiosk_app, **kw):
        super().__init__(kiosk_app, **kw)
        self.question = None
        self._buttons: dict = {}  # made once per question, at start-up, rather than while a citizen waits
        for q, choices in CHOICES.items():
            self._buttons[q] = [self._button(key, value) for key, value in choices]

    def _button(self, key, value) -> ChoiceButton:
        b = ChoiceButton()
        b.answer_key, b.value = key, value
        b.bind(on_release=self._chosen)
        return b

    def _chosen(self, button) -> None:
        value = list(button.value) if isinstance(button.value, tuple) else button.value
        self.session.answer(self.question, value)

    def on_page(self, session) -> None:
        t = self.t
        q = session.current_question
        self.question = q
        grid = self.ids.answers
        grid.clear_widgets()
        if q is None:
            return
        self.prompt = t.worded(prompt_key(q), session.audience)
        detail = f"{prompt_key(q)}.detail"
        self.detail = t(detail) if t.has(detail) else ""
        self.columns = COLUMNS[q]
        for b in self._buttons[q]:
            b.text = t(b.answer_key)
            grid.add_widget(b)
        self.ids.question_scroll.scroll_y = 1
        self.ids.answers_scroll.scroll_y = 1
        self.on_session(session)

    def on_session(self, session) -> None:
        q = self.question
        if q is not None:
            # "Question 1 sur 2" becomes "sur 1" as soon as an answer spares the follow-up.
            self.progress = self.t("questions.progress", index=session.index + 1,
                                   count=len(session.needed_questions()))
        for b in self._buttons.get(q, []):
            b.selected = is_selected(q, b.value, session.answers)
        msg = session.message
        offline = msg is not None and msg.key == "identify.offline"
        # The offline notice heads the first question; the message line is for what the session says now.
        self.notice = self.t("identify.offline") if offline else ""
        if offline:
            self.ids.message.text = ""
        else:
            self.show_message(self.ids.message)

    def button(self, question, value):
        """The answer button of ``question`` for ``value`` (what a test touches)."""
        for b in self._buttons.get(self.question, []) if str(self.question) == str(question) else []:
            bv = list(b.value) if isinstance(b.value, tuple) else b.value
            if bv == value and type(bv) is type(value):
                return b
        return None
