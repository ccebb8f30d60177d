namespace FlowKit.Processes;

public sealed partial class Subprocess
{
    /// <summary>
    /// The child's standard output as lines (split on <c>\n</c>, a trailing <c>\r</c> removed; a last line without a
    /// terminator is returned too). One reader at a time; a later enumeration goes on where an earlier one stopped.
    /// </summary>
    /// <param name="cancellationToken">Stops the enumeration (not the child).</param>
    /// <returns>The lines, ending when the child closes its standard output.</returns>
    /// <exception cref="InvalidOperationException">Standard output is not <see cref="SubprocessOutput.Pipe"/>, or another reader is active.</exception>
    /// <exception cref="InvalidDataException">A line is longer than <see cref="SubprocessOptions.MaxLineLength"/>.</exception>
    public IAsyncEnumerable<string> StandardOutputLinesAsync(CancellationToken cancellationToken = default) =>
        Pumps(_stdout, "standard output").ReadLinesAsync(cancellationToken);

    /// <summary>
    /// The child's standard output as raw chunks, as they arrive. Each chunk is valid only until the next one is requested
    /// (the memory is pooled); copy what you keep.
    /// </summary>
    /// <param name="cancellationToken">Stops the enumeration (not the child).</param>
    /// <returns>The chunks, ending when the child closes its standard output.</returns>
    /// <exception cref="InvalidOperationException">Standard output is not <see cref="SubprocessOutput.Pipe"/>, or another reader is active.</exception>
    public IAsyncEnumerable<ReadOnlyMemory<byte>> StandardOutputChunksAsync(CancellationToken cancellationToken = default) =>
        Pumps(_stdout, "standard output").ReadChunksAsync(cancellationToken);

    /// <summary>The child's standard error as lines; needs <see cref="SubprocessOptions.StandardError"/> = <see cref="SubprocessOutput.Pipe"/>.</summary>
    /// <param name="cancellationToken">Stops the enumeration (not the child).</param>
    /// <returns>The lines, ending when the child closes its standard error.</returns>
    /// <exception cref="InvalidOperationException">Standard error is not piped, or another reader is active.</exception>
    public IAsyncEnumerable<string> StandardErrorLinesAsync(CancellationToken cancellationToken = default) =>
        Pumps(_stderr, "standard error").ReadLinesAsync(cancellationToken);

    /// <summary>The child's standard error as raw chunks (each valid until the next is requested); needs it piped.</summary>
    /// <param name="cancellationToken">Stops the enumeration (not the child).</param>
    /// <returns>The chunks, ending when the child closes its standard error.</returns>
    /// <exception cref="InvalidOperationException">Standard error is not piped, or another reader is active.</exception>
    public IAsyncEnumerable<ReadOnlyMemory<byte>> StandardErrorChunksAsync(CancellationToken cancellationToken = default) =>
        Pumps(_stderr, "standard error").ReadChunksAsync(cancellationToken);

    /// <summary>Reads all of standard output as text (it must be piped); for small outputs.</summary>
    /// <param name="maxBytes">The most bytes accepted; more throws <see cref="InvalidDataException"/>.</param>
    /// <param name="cancellationToken">Stops reading (not the child).</param>
    /// <returns>The text.</returns>
    public Task<string> ReadStandardOutputToEndAsync(int maxBytes = 64 << 20, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        return Pumps(_stdout, "standard output").ReadToEndAsync(maxBytes, cancellationToken);
    }

    /// <summary>Reads all of standard error as text (it must be piped); for small outputs.</summary>
    /// <param name="maxBytes">The most bytes accepted; more throws <see cref="InvalidDataException"/>.</param>
    /// <param name="cancellationToken">Stops reading (not the child).</param>
    /// <returns>The text.</returns>
    public Task<string> ReadStandardErrorToEndAsync(int maxBytes = 64 << 20, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        return Pumps(_stderr, "standard error").ReadToEndAsync(maxBytes, cancellationToken);
    }

    /// <summary>Completes when standard error has been read to its end (so <see cref="StandardErrorTail"/> holds the last bytes).</summary>
    internal Task StandardErrorDrained => _stderr?.Completion ?? Task.CompletedTask;

    /// <summary>Waits until the drain tasks have read standard output and error to their end (the child and everything that shares its pipes closed them).</summary>
    internal Task OutputCompletion => Task.WhenAll(_stdout?.Completion ?? Task.CompletedTask, _stderr?.Completion ?? Task.CompletedTask);

    private OutputPump Pumps(OutputPump? pump, string name)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return pump is { IsPiped: true }
            ? pump
            : throw new InvalidOperationException($"The {name} of '{FileName}' is {(pump is null ? "inherited" : "drained")}, not piped; set it to SubprocessOutput.Pipe in SubprocessOptions to read it.");
    }
}
