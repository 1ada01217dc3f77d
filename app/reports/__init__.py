"""PDF documents: 四方会签表, 一案一卷, the weekly 报账 and monthly statistics reports, and
scanned sign-off sheets attached back by their QR codes. Qt-free; the GUI calls these."""
