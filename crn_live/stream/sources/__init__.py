"""Live inputs and outputs, one module each, behind one :class:`~.base.Source` protocol.

* :mod:`.mic` (:class:`~.mic.MicSource`) and :mod:`.file` (:class:`~.file.FileAudioSource`):
  audio inputs with one read interface (:class:`~.base.RingAudioSource`);
* :mod:`.output` (:class:`~.output.OutputSink`): a loudspeaker fed by
  :meth:`~.output.OutputSink.write`;
* :mod:`.camera` (:class:`~.camera.CameraSource`): the latest frame of a camera or video file;
* :mod:`.base`: the protocol and the shared start / stop / close bookkeeping and counters;
  :mod:`.clocks`: capture times of audio blocks.

Every audio block and video frame carries its capture time on :func:`time.monotonic`'s clock,
so audio and video can be lined up by whoever consumes them. Import from the defining modules.
"""
