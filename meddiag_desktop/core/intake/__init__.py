"""Unattended intake: images that arrive (DICOM C-STORE to the node, new files in a watched folder)
are stored, analysed, recorded and, when asked, answered with DICOM results sent on.

- ``events``: what producers hand over (``Arrival``) and what the engine yields;
- ``store``: the intake folder (stored instances, the analysed index, the engine's identity);
  ``journal``: the node's receive journal (durable with one shared flush, the files behind);
- ``results_csv``: the one results CSV, appended and fsync'd row by row;
- ``routing``: which models analyse an item (modality / photometric / body part / folder -> task);
- ``outbox``: results waiting for delivery, retried with back-off; ``sender``: C-STORE to a PACS;
- ``engine``: the job (a generator, ``cancel=``) - the only writer of CSV, audit log and index;
  ``forward``: its decode + forward of small files in a worker process;
- ``node``: the DICOM Storage + Verification SCP (pynetdicom); ``watch``: the folder watcher.

Producers (``node``, ``watch``) only store durably and call ``IntakeEngine.submit``; they run
in their own threads. Import the sub-modules: pynetdicom and watchdog load only when used.
"""
