using System.Globalization;
using System.Text;

namespace FlowKit.Flows;

/// <summary>The option summary a stage shows in <see cref="Flow{T}.Describe"/>.</summary>
internal static class StageDetails
{
    public static string Of(StageOptions options, bool fused, bool async)
    {
        var text = new StringBuilder();
        text.Append(async ? "async" : "sync");
        if (fused)
        {
            text.Append(", fused");
        }

        if (options.Parallelism > 1)
        {
            text.Append(CultureInfo.InvariantCulture, $", parallelism {options.Parallelism}, {(options.Ordered ? "ordered" : "unordered")}");
        }

        if (options.OnError.Action != FlowErrorAction.Fail)
        {
            text.Append(", on error ").Append(options.OnError.Action);
        }

        return text.ToString();
    }
}
