"""QR codes: label payloads, label sheets and case slips (PDF), decoding photos, the terminal
rendering and the keyboard-wedge scanner.

Importing this package is cheap and Textual-free; the heavy parts (fpdf2, zxing-cpp, Pillow,
Textual) are imported by the modules that need them. See docs/qr.md.
"""
