"""Simulated devices: honest, first-class backends, shipped like the real ones.

As gpiozero's ``MockFactory``, they are what the tests, the demo and a
developer's PC run on. Each one behaves like its hardware (a camera shows a
scene, a sensor returns an image that the same quality code judges, a printer
receives real ESC/POS bytes) and can be driven from outside the process
through small files under ``<sim_dir>/<device>/`` so that a person running
the simulated kiosk, or a scenario, can take the paper out or script a wet
finger without touching the code:

=====================================  ==========================================
``camera/scene.json``                  what is in front of the camera
``fingerprint/script.json``            the next outcomes of the sensor, in order
``printer/paper``                      ``ok``, ``near_end``, ``out``, ``unplugged``, ``busy``
``printer/receipt-NNNN.bin``           (output) each printed job, raw ESC/POS
``indicator/state``                    (output) the light currently shown
=====================================  ==========================================

A control file is re-read when it changes; whichever came last, a change of
the file or a call on the object (``show``, ``script``, ``set_paper``), wins.
"""
