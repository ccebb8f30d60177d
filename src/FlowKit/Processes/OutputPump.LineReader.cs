using System.Buffers;
using System.IO.Pipelines;

namespace FlowKit.Processes;

/// <summary>A hand-written line enumerator over the pump's pipe: a line already buffered is returned synchronously, with no
/// compiler-generated async iterator (and its per-item state machine) in between.</summary>
internal sealed partial class OutputPump
{
    internal LineReader OpenLineReader(CancellationToken cancellationToken, CancellationTokenSource? linked = null) => new(this, EnterReader(), cancellationToken, linked);

    internal sealed class LineReader(OutputPump pump, PipeReader reader, CancellationToken cancellationToken, CancellationTokenSource? linked) : IAsyncEnumerator<string>
    {
        private ReadOnlySequence<byte> _buffer;
        private SequencePosition _consumed;
        private bool _holding;
        private bool _completed;
        private bool _finished;
        private bool _disposed;

        public string Current { get; private set; } = string.Empty;

        public ValueTask<bool> MoveNextAsync()
        {
            if (_holding && pump.TryTakeLine(ref _buffer, out var line))
            {
                _consumed = _buffer.Start;
                Current = line;
                return new ValueTask<bool>(true);
            }

            return MoveNextSlowAsync();
        }

        public ValueTask DisposeAsync()
        {
            if (!_disposed)
            {
                _disposed = true;
                if (_holding)
                {
                    _holding = false;
                    reader.AdvanceTo(_consumed);
                }

                linked?.Dispose();
                Volatile.Write(ref pump._readerActive, 0);
            }

            return default;
        }

        private async ValueTask<bool> MoveNextSlowAsync()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            while (true)
            {
                if (_finished)
                {
                    return false;
                }

                if (_holding)
                {
                    // Keep a partial line aside and consume it, so a line longer than the buffer limit cannot stall the pipe.
                    if (!_buffer.IsEmpty)
                    {
                        if (pump._pending.WrittenCount + _buffer.Length > pump._maxLineLength)
                        {
                            throw new InvalidDataException($"A line of the child's {pump._streamName} is longer than MaxLineLength ({pump._maxLineLength} bytes).");
                        }

                        foreach (var segment in _buffer)
                        {
                            pump._pending.Write(segment.Span);
                        }

                        _consumed = _buffer.End;
                    }

                    _holding = false;
                    reader.AdvanceTo(_consumed);
                    if (_completed)
                    {
                        _finished = true;
                        if (pump._pending.WrittenCount > 0)
                        {
                            Current = pump.Decode(ReadOnlySpan<byte>.Empty);
                            return true;
                        }

                        return false;
                    }
                }

                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                _buffer = result.Buffer;
                _consumed = _buffer.Start;
                _holding = true;
                _completed = result.IsCompleted;
                if (pump.TryTakeLine(ref _buffer, out var line))
                {
                    _consumed = _buffer.Start;
                    Current = line;
                    return true;
                }
            }
        }
    }
}
