namespace FlowKit;

/// <summary>The work threw inside the worker process. Carries the remote exception's type name, message and stack trace; the
/// worker stays alive and keeps serving.</summary>
public sealed class RemoteWorkException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public RemoteWorkException()
        : this("Work failed in a worker process.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    /// <param name="message">What happened.</param>
    public RemoteWorkException(string message)
        : base(message)
    {
        RemoteTypeName = string.Empty;
        RemoteMessage = message;
        RemoteStackTrace = string.Empty;
    }

    /// <summary>Creates the exception with <paramref name="message"/> and a cause.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public RemoteWorkException(string message, Exception innerException)
        : base(message, innerException)
    {
        RemoteTypeName = string.Empty;
        RemoteMessage = message;
        RemoteStackTrace = string.Empty;
    }

    /// <summary>Describes an exception thrown in a worker.</summary>
    /// <param name="remoteTypeName">The full name of the exception's type in the worker.</param>
    /// <param name="remoteMessage">Its message.</param>
    /// <param name="remoteStackTrace">Its stack trace in the worker.</param>
    /// <param name="workName">The work that threw.</param>
    public RemoteWorkException(string remoteTypeName, string remoteMessage, string remoteStackTrace, string workName)
        : base($"{remoteTypeName} in worker running '{workName}': {remoteMessage}")
    {
        RemoteTypeName = remoteTypeName;
        RemoteMessage = remoteMessage;
        RemoteStackTrace = remoteStackTrace;
    }

    /// <summary>The full type name of the exception thrown in the worker, e.g. <c>System.InvalidOperationException</c>.</summary>
    public string RemoteTypeName { get; }

    /// <summary>The remote exception's message.</summary>
    public string RemoteMessage { get; }

    /// <summary>The remote exception's stack trace, as the worker saw it.</summary>
    public string RemoteStackTrace { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        base.ToString() + Environment.NewLine + "--- Remote stack trace ---" + Environment.NewLine + RemoteStackTrace;
}
