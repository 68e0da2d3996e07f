"""Colours and the window's style sheet (Fusion style underneath, light palette)."""
from __future__ import annotations

NOTICE_TEXT = "Decision support only — not for diagnostic use."
DEMO_TEXT = "DEMO — not trained for diagnosis"
OOD_HEADLINE = "Out of scope"  # short: the headline is one line in a narrow column
OOD_TEXT = "OOD score {score:.2f} (limit 1)"

STYLE_SHEET = """
QLabel#noticeBanner {
    background: #fff4ce; color: #4d3800; border-bottom: 1px solid #e3c66b;
    padding: 6px 12px; font-weight: 600;
}
QFrame#modelColumn {
    background: palette(base); border: 1px solid #c9ced6; border-radius: 6px;
}
QFrame#modelColumn[demo="true"] { border: 1px solid #c0392b; }
QLabel#familyTitle { font-size: 12pt; font-weight: 700; }
QLabel#modelMeta, #modelFooter, QLabel#explainCaption, #viewerCaption { color: #5f6b7a; }
#viewerCaption { background: #111315; color: #aeb6bf; padding: 2px; }
QLabel#demoBadge {
    background: #c0392b; color: white; border-radius: 3px; padding: 2px 6px; font-weight: 700;
}
#headline { font-size: 14pt; font-weight: 700; }
#headline[ood="true"] { color: #b03a2e; }
#probability { font-size: 11pt; color: #1f2d3d; }
#decision { color: #1f2d3d; }
QLabel#panelTitle { font-size: 13pt; font-weight: 700; }
QLabel#panelStatus { color: #5f6b7a; font-style: italic; }
QLabel#placeholder { color: #8a949e; font-size: 13pt; background: #111315; qproperty-alignment: AlignCenter; }
QLabel#panelStub { color: #5f6b7a; font-style: italic; qproperty-alignment: 'AlignTop | AlignLeft'; padding: 12px; }
QLabel#jobStatus { color: #5f6b7a; padding-right: 8px; }
"""
