"""Speech: from a change of screen to the first sample heard, and what the prompt cache weighs.

Three figures per output, each the median (and the worst) of many runs:

* **cached**: the session moves to a page whose words are the same for
  everyone (already rendered): the voice's thread takes the recording from
  the cache and starts it. Target: under 300 ms.
* **rendered**: a sentence with the citizen's name, rendered by espeak-ng
  then played (never cached). Target: under 1 s.
* **baseline**, measured in the same run: the same recording handed straight
  to the output, with no voice, queue or cache in between; the ratios say
  what the voice adds.

Outputs: ``sim`` (the simulator, in this process) and ``alsa`` (the real
sounddevice → PortAudio → alsa-lib path, in a child process whose ALSA
configuration sends the samples to ALSA's ``file`` plugin: no sound card
here). Then the cache's size on disk once every text of the citizen's
screens is rendered, in French and in English.

Last line: JSON of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.config import AudioConfig, HalConfig  # noqa: E402
from kiosk.core.narration import Prompt  # noqa: E402
from kiosk.speech.prompt_cache import PromptCache  # noqa: E402
from kiosk.core.session import Session, SessionSettings  # noqa: E402
from kiosk.speech.tts import create_engine  # noqa: E402
from kiosk.speech.voice import Voice  # noqa: E402

RUNS = 15
ALSA_CONF = """</usr/share/alsa/alsa.conf>
pcm.bench {{
  type file
  slave.pcm "null"
  file "{out}"
  format "raw"
}}
pcm.!default pcm.bench
"""


def _output(backend: str, tmp: Path):
    if backend == "sim":
        from kiosk.hal.sim.audio import SimAudioOutput

        return SimAudioOutput(HalConfig(), tmp / "sim").open()
    from kiosk.hal.alsa_audio import AlsaAudioOutput

    return AlsaAudioOutput(HalConfig(), tmp).open()


def measure(backend: str) -> dict:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        out = _output(backend, tmp)
        engine = create_engine(AudioConfig())
        cache = PromptCache(tmp / "cache", engine)
        voice = Voice(out, cache, engine)
        try:
            session = Session(SessionSettings(), time.monotonic)
            session.subscribe(voice.follow)
            voice.listen(session)
            voice.wait_idle(60)
            cached, rendered, baseline = [], [], []
            for i in range(RUNS + 1):  # the first round renders the pages into the cache: not counted
                session.start()  # a change of screen: welcome → identify, whose words are cached after round 0
                voice.wait_idle(60)
                if i:
                    cached.append(voice.last_latency[0])
                session.cancel()
                voice.listen(session)
                voice.wait_idle(60)
                name = f"Demandeur : Camille Martin-{i}."  # never the same text: rendered every time
                voice.say([Prompt("speech.field.person", name, personal=True)], session, interrupt=True)
                voice.wait_idle(60)
                if i:
                    rendered.append(voice.last_latency[0])
                clip = voice._render(Prompt("title.identify", "Étape 1 sur 8. Votre pré-demande."), "fr")
                started = time.monotonic()
                out.play(clip)
                if i:
                    baseline.append(out.first_sample_at - started)
        finally:
            voice.close()
            out.close()
    return {
        "cached_ms_p50": round(statistics.median(cached) * 1000, 1), "cached_ms_max": round(max(cached) * 1000, 1),
        "rendered_ms_p50": round(statistics.median(rendered) * 1000, 1),
        "rendered_ms_max": round(max(rendered) * 1000, 1),
        "baseline_ms_p50": round(statistics.median(baseline) * 1000, 2),
        "cached_over_baseline": round(statistics.median(cached) / max(statistics.median(baseline), 1e-6), 1),
        "rendered_over_baseline": round(statistics.median(rendered) / max(statistics.median(baseline), 1e-6), 1),
    }


def cache_size() -> dict:
    """Every text of the citizen's screens rendered once, in both languages: the cache's bytes on disk."""
    from tests.kiosk.ui.texts import citizen_keys, sample_text  # the same texts the speech test renders

    engine = create_engine(AudioConfig())
    out = {}
    with tempfile.TemporaryDirectory() as d:
        for lang in ("fr", "en"):
            cache = PromptCache(Path(d) / lang, engine, max_bytes=1 << 40)
            texts = [sample_text(k, lang) for k in sorted(citizen_keys())]
            started = time.perf_counter()
            cache.warm((t, lang, False) for t in texts)
            out[f"cache_{lang}_prompts"] = len(texts)
            out[f"cache_{lang}_mb"] = round(cache.size_bytes() / 1e6, 1)
            out[f"cache_{lang}_warm_s"] = round(time.perf_counter() - started, 1)
    return out


def main() -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["sim", "alsa", "both"], default="both")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(measure(args.backend)))
        return {}
    figures = {}
    if args.backend in ("sim", "both"):
        figures["sim"] = measure("sim")
    if args.backend in ("alsa", "both"):
        with tempfile.TemporaryDirectory() as d:
            conf = Path(d) / "asound.conf"
            conf.write_text(ALSA_CONF.format(out=Path(d) / "out.raw"))
            proc = subprocess.run([sys.executable, __file__, "--backend", "alsa", "--child"], capture_output=True,
                                  text=True, env={**os.environ, "ALSA_CONFIG_PATH": str(conf)})
            figures["alsa"] = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {
                "error": proc.stderr.strip().splitlines()[-1:]}
    figures.update(cache_size())
    for name in ("sim", "alsa"):
        f = figures.get(name)
        if f and "error" not in f:
            print(f"{name}: screen change → first sample, cached prompt p50 {f['cached_ms_p50']} ms "
                  f"(max {f['cached_ms_max']}), with the citizen's name p50 {f['rendered_ms_p50']} ms "
                  f"(max {f['rendered_ms_max']}); the bare output {f['baseline_ms_p50']} ms "
                  f"(×{f['cached_over_baseline']} cached, ×{f['rendered_over_baseline']} rendered)")
    print(f"cache: {figures['cache_fr_prompts']} prompts, {figures['cache_fr_mb']} MB in French "
          f"({figures['cache_fr_warm_s']} s to render), {figures['cache_en_mb']} MB in English")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
