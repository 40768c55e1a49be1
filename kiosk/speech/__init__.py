"""The kiosk's voice: what ``kiosk.core.narration`` says, rendered to speech
(espeak-ng or Piper), cached when it is the same for everyone, and played
on its own thread through the audio facade."""
