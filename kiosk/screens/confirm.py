"""Confirm (the fetched pré-demande, and the question or two it cannot answer) and Questions (offline).

Both ask questions with big buttons (:mod:`kiosk.screens.questions` lists
them). A button's look mirrors the answer the session recorded; touching it
sends the answer to the session, which decides which questions remain
(:meth:`Session.needed_questions`).
"""

from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import ObjectProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.utils import escape_markup, get_hex_from_color

from kiosk.screens import theme
from kiosk.screens.base import KioskScreen
from kiosk.screens.questions import CHOICES, COLUMNS, PROMPTS_CONFIRM, PROMPTS_QUESTIONS, is_selected
from kiosk.screens.widgets import BodyLabel, ChoiceButton, QuestionHeading
from kiosk.session import Question

MUTED_HEX = get_hex_from_color(theme.MUTED)[1:7]

class QuestionBlock(BoxLayout):
    """A question and its answer buttons."""

    question = ObjectProperty(None)

    def __init__(self, question: Question, prompt_key: str, screen: "QuestionScreenBase", **kw):
        super().__init__(**kw)
        self.lang = ""
        self.question = question
        self.prompt_key = prompt_key
        self.screen = screen
        self.heading = QuestionHeading()
        self.add_widget(self.heading)
        self.grid = GridLayout(cols=COLUMNS[question], size_hint_y=None, spacing=screen.kiosk_app.u * 10)
        self.grid.bind(minimum_height=self.grid.setter("height"))
        self.buttons: list[ChoiceButton] = []
        for key, value in CHOICES[question]:
            b = ChoiceButton()
            b.answer_key, b.value = key, value
            b.bind(on_release=self._chosen)
            self.buttons.append(b)
            self.grid.add_widget(b)
        self.add_widget(self.grid)

    def _chosen(self, button) -> None:
        value = list(button.value) if isinstance(button.value, tuple) else button.value
        self.screen.session.answer(self.question, value)

    def relabel(self) -> None:
        t = self.screen.t
        self.lang = t.lang
        self.heading.text = t(self.prompt_key)
        for b in self.buttons:
            b.text = t(b.answer_key)

    def refresh(self, answers: dict) -> None:
        for b in self.buttons:
            b.selected = is_selected(self.question, b.value, answers)


class QuestionScreenBase(KioskScreen):
    prompts: dict[Question, str] = {}

    def __init__(self, kiosk_app, **kw):
        super().__init__(kiosk_app, **kw)
        self.blocks: dict[Question, QuestionBlock] = {}  # the ones shown, in order
        self._made: dict[Question, QuestionBlock] = {}
        self._asked: tuple[Question, ...] = ()
        for q in self.prompts:  # made now, at start-up, rather than while a citizen waits
            self._block(q).relabel()

    def on_page(self, session) -> None:
        self._asked = ()
        self._rebuild(session)
        self.ids.scroll.scroll_y = 1
        self.on_session(session)

    def _block(self, question: Question) -> QuestionBlock:
        """The block of ``question``, made once and kept: showing a page only re-labels and re-adds it."""
        block = self._made.get(question)
        if block is None:
            block = QuestionBlock(question, self.prompts[question], self, orientation="vertical",
                                  size_hint_y=None, spacing=self.kiosk_app.u * 8)
            block.bind(minimum_height=block.setter("height"))
            self._made[question] = block
        return block

    def _rebuild(self, session) -> None:
        asked = tuple(session.needed_questions())
        if asked == self._asked:
            return
        new = [q for q in asked if q not in self._asked]
        box = self.ids.questions
        box.clear_widgets()
        self.blocks = {}
        for q in asked:
            block = self._block(q)
            if block.lang != self.t.lang:
                block.relabel()
            self.blocks[q] = block
            box.add_widget(block)
        if self._asked and new:
            # A follow-up question appeared below: bring it into view once laid out.
            Clock.schedule_once(lambda dt: self.ids.scroll.scroll_to(self.blocks[new[-1]], padding=10), 0.1)
        self._asked = asked

    def on_session(self, session) -> None:
        self._rebuild(session)
        for block in self.blocks.values():
            block.refresh(session.answers)
        self.show_message(self.ids.message)

    def button(self, question: Question | str, value):
        """The answer button of ``question`` for ``value`` (what a test touches)."""
        block = self.blocks[Question(question)]
        for b in block.buttons:
            bv = list(b.value) if isinstance(b.value, tuple) else b.value
            if bv == value and type(bv) is type(value):
                return b
        return None


class ConfirmScreen(QuestionScreenBase):
    prompts = PROMPTS_CONFIRM

    def on_page(self, session) -> None:
        self._fill_predemande(session)
        super().on_page(session)

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
        lines = [
            [("confirm.person", f"{p.surname} {p.given_names}".strip()), ("confirm.birth", birth)],
            [("confirm.titles", titles), ("confirm.motif", t(f"motif.{pd.motif.value}"))],
            [("confirm.number", pd.number),
             ("confirm.age", t("confirm.minor" if session.applicant_minor else "confirm.adult_age", age=age))],
        ]
        u = self.kiosk_app.u
        for fields in lines:
            # "Motif  Perte": each field's name in grey, its value in bold.
            text = "     ".join(f"[color={MUTED_HEX}]{escape_markup(t(key))}[/color]  [b]{escape_markup(value)}[/b]"
                               for key, value in fields)
            box.add_widget(BodyLabel(text=text, markup=True, font_size=u * 21))


class QuestionsScreen(QuestionScreenBase):
    prompts = PROMPTS_QUESTIONS

    def on_session(self, session) -> None:
        super().on_session(session)
        # The offline notice stays on top; the message line is for what the session says now.
        msg = session.message
        if msg is not None and msg.key == "identify.offline":
            self.ids.message.text = ""
