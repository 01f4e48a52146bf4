<?php
$sg = new \SendGrid('SG.IxxAAY75gKSAG7UsKStS5Y.qqQ9WB7K3ZEomMLFQXKG79mFpEKaR57SbZ3E46FEF22');

<?php
$sg = new \SendGrid('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');
