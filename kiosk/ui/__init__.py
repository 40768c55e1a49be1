"""The Kivy apps and their screens, thin views over ``kiosk.core``: the only
part of the project that imports Kivy."""
