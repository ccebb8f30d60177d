namespace FlowKit.Samples.Executors;

/// <summary>Trial division on purpose: the point is CPU work, not a clever sieve.</summary>
public static class Primes
{
    public static int CountInRange(PrimeRange range)
    {
        var count = 0;
        for (var n = Math.Max(2, range.Start); n < range.End; n++)
        {
            if (IsPrime(n))
            {
                count++;
            }
        }

        return count;
    }

    private static bool IsPrime(int n)
    {
        if (n < 4)
        {
            return n >= 2;
        }

        if (n % 2 == 0)
        {
            return false;
        }

        for (var d = 3; (long)d * d <= n; d += 2)
        {
            if (n % d == 0)
            {
                return false;
            }
        }

        return true;
    }
}
